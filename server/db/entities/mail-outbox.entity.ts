import { defineEntity, type InferEntity } from '@mikro-orm/core';

/**
 * Durable mail queue. The message (recipient, subject, body with its link)
 * is stored AES-256-GCM encrypted under a key derived from SECRET_KEY, so a
 * database dump yields no working verification or reset link.
 */
export const MailOutboxSchema = defineEntity({
  name: 'MailOutbox',
  tableName: 'mail_outbox',
  indexes: [{ properties: ['sentAt', 'nextAttemptAt'] }],
  properties: (p) => ({
    id: p.uuid().primary(),
    template: p.string().length(64),
    payload: p.text(),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    sentAt: p.datetime().nullable(),
    failedAt: p.datetime().nullable(),
    lastError: p.string().length(500).nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type MailOutbox = InferEntity<typeof MailOutboxSchema>;
