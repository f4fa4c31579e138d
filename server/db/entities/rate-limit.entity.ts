import { defineEntity, type InferEntity } from '@mikro-orm/core';

/**
 * The shared rate-limit counters (RATE_LIMIT_STORE=postgres), in the layout
 * rate-limiter-flexible's PostgreSQL store reads and writes: one row per rule
 * and key, `expire` in epoch milliseconds. Keys of email rules are keyed
 * digests, never addresses.
 */
export const RateLimitSchema = defineEntity({
  name: 'RateLimit',
  tableName: 'rate_limits',
  properties: (p) => ({
    key: p.string().length(255).primary(),
    points: p.integer().default(0),
    expire: p.bigint().nullable(),
  }),
});
export type RateLimit = InferEntity<typeof RateLimitSchema>;
