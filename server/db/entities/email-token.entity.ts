import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

export const EmailTokenSchema = defineEntity({
  name: 'EmailToken',
  tableName: 'email_tokens',
  indexes: [{ properties: ['user', 'purpose'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    user: p.manyToOne(UserSchema).deleteRule('cascade'),
    purpose: p.string().length(32), // 'verify_email' | 'reset_password'
    tokenHash: p.string().length(64).unique(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type EmailToken = InferEntity<typeof EmailTokenSchema>;
