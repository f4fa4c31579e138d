import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: (p) => ({
    id: p.uuid().primary(),
    // Stored trimmed, NFKC-normalised and lower-cased (see services/email-normaliser).
    email: p.string().length(254).unique(),
    hashedPassword: p.text(),
    fullName: p.string().length(200).nullable(),
    emailVerifiedAt: p.datetime().nullable(),
    isActive: p.boolean().default(true),
    isSuperuser: p.boolean().default(false),
    failedAttempts: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    // When the failure streak last grew: a streak idle for a day starts over.
    lastFailedAt: p.datetime().nullable(),
    // Bumped by password change/reset and revoke-all: every access token
    // carrying an older value is refused at once.
    sessionVersion: p.integer().default(0),
    passwordChangedAt: p.datetime().nullable(),
    lastLoginAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  }),
});
export type User = InferEntity<typeof UserSchema>;
