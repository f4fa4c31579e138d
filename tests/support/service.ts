import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../server/config/config.js';
import type { DepsOverrides } from '../../server/deps.js';
import { createLogger } from '../../server/observability/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { testGlobals } from './globals.js';

export interface TestService extends RunningServer {
  config: Readonly<Config>;
  /** Log lines this instance wrote (JSON strings). */
  logs: string[];
}

/** The environment every test service starts from; suites override single variables. */
export function baseTestEnv(): Record<string, string> {
  const g = testGlobals();
  return {
    APP_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    // Cheap hashes keep the suite fast; the benchmark measures the real cost.
    SCRYPT_LOG_N: '10',
    SCRYPT_R: '8',
    SCRYPT_P: '1',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(g.smtp.port),
    SMTP_SECURE: 'false',
    EMAIL_FROM: 'secure-auth tests <no-reply@test.local>',
    PUBLIC_URL: 'http://auth.test.local',
    LOG_LEVEL: 'info',
    // A fixed key so several services in one suite share tokens; a suite
    // can override it to test key rotation.
    SECRET_KEY: 'test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz',
    DATA_DIR: '.data/test',
  };
}

/**
 * Starts the real service in this process on an ephemeral port, on the shared
 * test database and SMTP server. Logs are captured (and kept for the secret
 * scan) instead of printed.
 */
export async function startService(
  env: Record<string, string> = {},
  overrides: DepsOverrides = {},
): Promise<TestService> {
  const g = testGlobals();
  const config = loadConfig({ ...baseTestEnv(), ...env });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) {
          logs.push(line);
          g.logLines.push(line);
        }
      }
      cb();
    },
  });
  const logger = overrides.logger ?? createLogger(config.logLevel, sink);
  const running = await startServer(config, {
    databaseUrl: g.databaseUrl,
    migrate: false,
    poolMax: 5,
    outbox: { pollMs: 200, firstRetrySeconds: 0.5, maxBackoffSeconds: 1 },
    ...overrides,
    logger,
  });
  return { ...running, config, logs };
}
