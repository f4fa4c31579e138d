import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

/**
 * Passkey ceremony challenges: a digest of the challenge (never the
 * challenge), its account (null for a passwordless login, where the account
 * is not known yet), its purpose, and single use within a short lifetime.
 */
export const WebauthnChallengeSchema = defineEntity({
  name: 'WebauthnChallenge',
  tableName: 'webauthn_challenges',
  indexes: [{ properties: ['expiresAt'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    challengeHash: p.string().length(64).unique(),
    user: p.manyToOne(UserSchema).deleteRule('cascade').nullable(),
    purpose: p.string().length(32), // 'register' | 'mfa' | 'login'
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type WebauthnChallenge = InferEntity<typeof WebauthnChallengeSchema>;
