import { defineEntity, type InferEntity } from '@mikro-orm/core';

/** The audit trail. user_id is kept without a foreign key so events outlive users. */
export const SecurityEventSchema = defineEntity({
  name: 'SecurityEvent',
  tableName: 'security_events',
  indexes: [
    { properties: ['createdAt'] },
    { properties: ['userId', 'createdAt'] },
    { properties: ['eventType', 'createdAt'] },
  ],
  properties: (p) => ({
    id: p.uuid().primary(),
    eventType: p.string().length(64),
    severity: p.string().length(16),
    outcome: p.string().length(16),
    userId: p.uuid().nullable(),
    ip: p.string().length(64).nullable(),
    requestId: p.string().length(128).nullable(),
    traceId: p.string().length(32).nullable(),
    userAgent: p.string().length(512).nullable(),
    details: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type SecurityEvent = InferEntity<typeof SecurityEventSchema>;
