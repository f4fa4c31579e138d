import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout. Redaction is a second line of defence: no code path
 * should hand a secret to the logger in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'password',
          '*.password',
          'newPassword',
          'currentPassword',
          'token',
          '*.token',
          'accessToken',
          'refreshToken',
          'authorization',
          '*.authorization',
          'hashed_password',
          'hashedPassword',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
