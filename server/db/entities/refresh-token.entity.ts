import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

/**
 * One row per refresh token; a family (family_id) is one session. The unique
 * (family_id, generation) pair makes a second branch of a family impossible
 * even if two rotations raced past the compare-and-swap.
 */
export const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  indexes: [{ properties: ['user'] }, { properties: ['familyId'] }],
  uniques: [{ properties: ['familyId', 'generation'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    user: p.manyToOne(UserSchema).deleteRule('cascade'),
    familyId: p.uuid(),
    parentId: p.uuid().nullable(),
    generation: p.integer(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    // Absolute end of the session (SESSION_MAX_MINUTES after login).
    familyExpiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    revokedReason: p.string().length(32).nullable(),
    userAgent: p.string().length(512).nullable(),
    ip: p.string().length(64).nullable(),
    // RFC 8176 methods of the login that started the session (comma-separated),
    // copied to each successor so access tokens keep `amr` through refreshes.
    amr: p.string().length(64).nullable(),
  }),
});
export type RefreshToken = InferEntity<typeof RefreshTokenSchema>;
