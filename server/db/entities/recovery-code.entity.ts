import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

/** One-time recovery codes, stored only as keyed digests bound to their account. */
export const RecoveryCodeSchema = defineEntity({
  name: 'RecoveryCode',
  tableName: 'recovery_codes',
  indexes: [{ properties: ['user'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    user: p.manyToOne(UserSchema).deleteRule('cascade'),
    codeHash: p.string().length(64).unique(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type RecoveryCode = InferEntity<typeof RecoveryCodeSchema>;
