import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

/** One row per lockout; its history drives the doubling of later lockouts. */
export const LockoutSchema = defineEntity({
  name: 'Lockout',
  tableName: 'lockouts',
  indexes: [{ properties: ['user', 'lockedAt'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    user: p.manyToOne(UserSchema).deleteRule('cascade'),
    failedAttempts: p.integer(),
    lockedAt: p.datetime(),
    lockedUntil: p.datetime(),
    sourceIp: p.string().length(64).nullable(),
    releasedAt: p.datetime().nullable(),
    // null, 'expiry', or the id of the admin who unlocked.
    releasedBy: p.string().length(64).nullable(),
  }),
});
export type Lockout = InferEntity<typeof LockoutSchema>;
