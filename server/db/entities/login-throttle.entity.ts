import { defineEntity, type InferEntity } from '@mikro-orm/core';

/**
 * Failure counts for emails that have no account, keyed by a keyed digest of
 * the email (no address in plaintext). Unknown emails lock exactly like known
 * ones, so the ACCOUNT_LOCKED answer does not reveal whether an account exists.
 */
export const LoginThrottleSchema = defineEntity({
  name: 'LoginThrottle',
  tableName: 'login_throttles',
  properties: (p) => ({
    emailDigest: p.string().length(64).primary(),
    failedAttempts: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    lastLockedAt: p.datetime().nullable(),
    lastLockSeconds: p.integer().nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
  }),
});
export type LoginThrottle = InferEntity<typeof LoginThrottleSchema>;
