import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

/**
 * The pending second step of a login: the digest of its mfaToken, the
 * account, and the password it was made from (password_changed_at as it was
 * when the password was checked), so a password change or reset in between
 * kills it. It dies after its first right answer, a few wrong ones, or a few
 * minutes. No session exists until it is answered.
 */
export const MfaChallengeSchema = defineEntity({
  name: 'MfaChallenge',
  tableName: 'mfa_challenges',
  indexes: [{ properties: ['user'] }, { properties: ['expiresAt'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    tokenHash: p.string().length(64).unique(),
    user: p.manyToOne(UserSchema).deleteRule('cascade'),
    passwordChangedAt: p.datetime().nullable(),
    attempts: p.integer().default(0),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type MfaChallenge = InferEntity<typeof MfaChallengeSchema>;
