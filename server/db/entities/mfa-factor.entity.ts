import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.js';

/**
 * A second factor of an account: a TOTP authenticator or a passkey. Columns
 * of the other kind stay null. A TOTP secret is stored sealed (AES-256-GCM
 * under a key derived from SECRET_KEY): a database dump yields no code
 * generator. last_used_step is the replay guard: a step once accepted is
 * never accepted again (compare-and-set).
 */
export const MfaFactorSchema = defineEntity({
  name: 'MfaFactor',
  tableName: 'mfa_factors',
  indexes: [{ properties: ['user'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    user: p.manyToOne(UserSchema).deleteRule('cascade'),
    kind: p.string().length(16), // 'totp' | 'passkey'
    name: p.string().length(100),
    createdAt: p.datetime().defaultRaw('now()'),
    lastUsedAt: p.datetime().nullable(),
    // totp
    secret: p.text().nullable(),
    confirmedAt: p.datetime().nullable(),
    lastUsedStep: p.integer().nullable(),
    // passkey: one credential id belongs to one account (unique).
    credentialId: p.string().length(1400).unique().nullable(),
    publicKey: p.text().nullable(),
    signCount: p.bigint().nullable(),
    transports: p.string().length(200).nullable(),
    aaguid: p.string().length(36).nullable(),
    backedUp: p.boolean().nullable(),
  }),
});
export type MfaFactor = InferEntity<typeof MfaFactorSchema>;
