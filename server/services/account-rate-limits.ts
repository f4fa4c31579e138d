import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { RateLimitStore } from '../rate-limit/rate-limit-store.js';

/** Rules counted per account rather than per IP or email. */
export type AccountRule = 'password.user' | 'mfa.user';

/**
 * Per-account limits for calls that check a secret of a known account: the
 * current password (`password.user`) or a second-factor answer
 * (`mfa.user`). The account is only known inside the service (from the
 * session or the mfaToken), so these are counted there rather than by the
 * tRPC middleware. Both guard against guessing, so an unreachable shared
 * store refuses the call instead of allowing unlimited guesses.
 */
export class AccountRateLimits {
  constructor(private readonly d: { store?: RateLimitStore; metrics: Metrics; events: SecurityEvents }) {}

  async consume(sql: Sql, req: RequestInfo, rule: AccountRule, userId: string): Promise<void> {
    const store = this.d.store;
    const points = store?.rule(rule)?.[0];
    if (!store || points === undefined) return;
    try {
      await store.limiter(rule).consume(`user:${userId}`);
    } catch (err) {
      if (!(err instanceof RateLimiterRes))
        throw new AppError('UNAVAILABLE', { message: 'Service temporarily unavailable' });
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      this.d.metrics.rateLimitExceeded.inc({ limit: rule });
      // One event per account and window, not one per refused call.
      if (err.consumedPoints === points + 1) {
        await this.d.events.emit(sql, req, {
          type: 'rate_limit_exceeded',
          outcome: 'failure',
          userId,
          details: { limit: rule, retry_after: retryAfter },
        });
      }
      throw new AppError('RATE_LIMITED', { retryAfter });
    }
  }
}
