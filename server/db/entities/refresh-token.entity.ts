import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

/**
 * Refresh tokens; a family (family_id) is one session. A family keeps at
 * most its first row, the token last used and the live one (older used rows
 * are deleted at rotation: a replay is recognised from the token itself).
 * The unique (family_id, generation) pair and the partial unique index on
 * the live token make a second branch of a family impossible even if two
 * rotations raced past the compare-and-swap; the same index answers the
 * per-request session check in one probe. Ended sessions are found for the
 * retention pass by revoked_at.
 */
export const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  indexes: [
    { properties: ['user'] },
    { properties: ['familyId'] },
    {
      name: 'refresh_tokens_revoked_at_index',
      expression:
        'create index "refresh_tokens_revoked_at_index" on "refresh_tokens" ("revoked_at") where revoked_at is not null',
    },
  ],
  uniques: [
    { properties: ['familyId', 'generation'] },
    {
      name: 'refresh_tokens_family_live_unique',
      expression:
        'create unique index "refresh_tokens_family_live_unique" on "refresh_tokens" ("family_id") where used_at is null and revoked_at is null',
    },
  ],
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
