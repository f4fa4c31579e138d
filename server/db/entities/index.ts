import { EmailTokenSchema } from './email-token.entity.js';
import { LockoutSchema } from './lockout.entity.js';
import { LoginThrottleSchema } from './login-throttle.entity.js';
import { MailOutboxSchema } from './mail-outbox.entity.js';
import { MfaChallengeSchema } from './mfa-challenge.entity.js';
import { MfaFactorSchema } from './mfa-factor.entity.js';
import { RateLimitSchema } from './rate-limit.entity.js';
import { RecoveryCodeSchema } from './recovery-code.entity.js';
import { RefreshTokenSchema } from './refresh-token.entity.js';
import { SecurityEventSchema } from './security-event.entity.js';
import { UserSchema } from './user.entity.js';
import { WebauthnChallengeSchema } from './webauthn-challenge.entity.js';

export const entities = [
  UserSchema,
  LockoutSchema,
  RefreshTokenSchema,
  EmailTokenSchema,
  SecurityEventSchema,
  MailOutboxSchema,
  LoginThrottleSchema,
  RateLimitSchema,
  MfaFactorSchema,
  RecoveryCodeSchema,
  WebauthnChallengeSchema,
  MfaChallengeSchema,
];
export {
  UserSchema,
  LockoutSchema,
  LoginThrottleSchema,
  RefreshTokenSchema,
  EmailTokenSchema,
  SecurityEventSchema,
  MailOutboxSchema,
  RateLimitSchema,
  MfaFactorSchema,
  RecoveryCodeSchema,
  WebauthnChallengeSchema,
  MfaChallengeSchema,
};
