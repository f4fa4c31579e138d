import { defineTRPCLimiter, type MwFn } from '@trpc-limiter/core';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Observers } from '../context.js';
import { AppError } from '../../errors.js';
import { ipKey } from '../../rate-limit/ip-key.js';
import type { RateLimitStore } from '../../rate-limit/rate-limit-store.js';
import { normaliseEmail } from '../../services/email-normaliser.js';
import type { Context } from '../context.js';
import { t } from '../init.js';

/** The rule every procedure without `meta.rateLimits` is counted under. */
export const DEFAULT_RULE = 'default.ip';

/** What the adapter reports for a refused call (the library's "hit info"). */
interface Refusal {
  rule: string;
  retryAfterSeconds: number;
  /** True for the call that first crossed the limit in this window. */
  first: boolean;
}

/** Extra options of our limiter (the library's `A` type parameter). */
interface RuleOptions {
  rule: string;
  store: RateLimitStore;
  onStoreError: (err: unknown) => void;
}

/** The context the limiter middlewares see: the request's, plus what the refusal event needs. */
type LimiterContext = Context & { rateLimitCall: { path: string; input: unknown } };

/**
 * `@trpc-limiter/core` adapter over rate-limiter-flexible: the library owns
 * the middleware shape (fingerprint -> isBlocked -> onLimit), the store owns
 * the counters (memory or PostgreSQL); nothing here counts by hand.
 */
const createFlexibleLimiter = defineTRPCLimiter<(opts: Required<RuleOptions>) => RuleOptions, Refusal, RuleOptions>(
  {
    store: (opts) => ({ rule: opts.rule, store: opts.store, onStoreError: opts.onStoreError }),
    async isBlocked({ rule, store, onStoreError }, fingerprint) {
      try {
        await store.limiter(rule).consume(fingerprint);
        return null;
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          const points = store.rule(rule)?.[0] ?? 0;
          return {
            rule,
            retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
            first: err.consumedPoints === points + 1,
          };
        }
        // The shared store is unreachable. Credential rules fail closed (an
        // outage must not become unlimited password guessing), the others
        // fail open (see RateLimitStore.failsClosed).
        onStoreError(err);
        if (store.failsClosed(rule)) {
          throw new AppError('UNAVAILABLE', { message: 'Service temporarily unavailable' });
        }
        return null;
      }
    },
  },
  (current) => ({ rule: current.rule, store: current.store, onStoreError: current.onStoreError }),
);

function emailOf(input: unknown): string | null {
  const email = (input as { email?: unknown } | null | undefined)?.email;
  return typeof email === 'string' && email.trim() !== '' ? email : null;
}

/** The key a rule counts under, or null when the call carries none (no email in the input). */
function rateLimitKey(store: RateLimitStore, rule: string, ctx: Context, input: unknown): string | null {
  if (rule.endsWith('.user')) {
    // Known only once the access token is checked (userRateLimit, after authenticate).
    const userId = (ctx as { auth?: { user: { id: string } } }).auth?.user.id;
    return userId ?? null;
  }
  if (rule.endsWith('.email')) {
    const email = emailOf(input);
    // An email-less call is still counted by the procedure's IP rule.
    return email === null ? null : store.emailKey(email);
  }
  // req.ip is what Express resolved from the socket and X-Forwarded-For as
  // far as TRUST_PROXY allows: a spoofed header changes nothing unless the
  // hop that added it is trusted. IPv6 counts per /64 (see ipKey).
  return ctx.req.ip ? ipKey(ctx.req.ip) : 'unknown';
}

function buildLimiter(deps: Observers, store: RateLimitStore, rule: string): MwFn<typeof t> {
  const [points, seconds] = store.rule(rule)!;
  let lastWarning = 0;
  return createFlexibleLimiter<typeof t>({
    rule,
    store,
    max: points,
    windowMs: seconds * 1000,
    fingerprint: (ctx, input) => rateLimitKey(store, rule, ctx, input) ?? '',
    onStoreError(err) {
      // One line per rule per 10 s, not one per request: an outage must not
      // flood the log.
      const now = Date.now();
      if (now - lastWarning < 10_000) return;
      lastWarning = now;
      deps.logger.warn({
        msg: 'rate-limit store unavailable',
        rule,
        fails: store.failsClosed(rule) ? 'closed' : 'open',
        err_code: (err as { code?: string }).code,
      });
    },
    async onLimit(refusal, ctx) {
      const c = ctx as LimiterContext;
      deps.metrics.rateLimitExceeded.inc({ limit: refusal.rule });
      // One event per key and window, not per refused call: a flood of
      // refused requests must not become a flood of audit rows.
      if (refusal.first) {
        const email = refusal.rule.endsWith('.email') ? emailOf(c.rateLimitCall.input) : null;
        await deps.events.emit(c.sql, c.req, {
          type: 'rate_limit_exceeded',
          outcome: 'failure',
          email: email === null ? undefined : normaliseEmail(email),
          details: { limit: refusal.rule, retry_after: refusal.retryAfterSeconds, procedure: c.rateLimitCall.path },
        });
      }
      throw new AppError('RATE_LIMITED', { retryAfter: refusal.retryAfterSeconds });
    },
  });
}

// One limiter middleware per store and rule, built on first use. Keyed by the
// store (one per app instance), weakly: no module-level state outlives an app.
const limitersByStore = new WeakMap<RateLimitStore, Map<string, MwFn<typeof t>>>();

function limiterFor(deps: Observers, store: RateLimitStore, rule: string): MwFn<typeof t> {
  let byRule = limitersByStore.get(store);
  if (!byRule) limitersByStore.set(store, (byRule = new Map()));
  let mw = byRule.get(rule);
  if (!mw) byRule.set(rule, (mw = buildLimiter(deps, store, rule)));
  return mw;
}

/** Per-user rules (`*.user`) count a signed-in caller, so they run after authentication. */
const isUserRule = (rule: string) => rule.endsWith('.user');

/**
 * The limiter chain of one phase: `request` applies the procedure's IP and
 * email rules (or `default.ip`) before anything else runs, so a refused call
 * costs no password hash and no query; `user` applies its per-user rules
 * right after the access token is checked, before the procedure spends a
 * hash on the caller's current password. Off when rate limiting is disabled
 * (APP_ENV=test unless RATE_LIMIT_ENABLED=true).
 */
function rateLimitPhase(phase: 'request' | 'user') {
  return t.middleware(async (opts) => {
    const { ctx, meta, path } = opts;
    const store = ctx.rateLimits;
    if (!store) return opts.next();
    const rules = (meta?.rateLimits ?? [DEFAULT_RULE]).filter((r) => isUserRule(r) === (phase === 'user'));
    if (rules.length === 0) return opts.next();
    // Middleware runs before input parsing: read the raw input for the email
    // rules; malformed input is refused later by the procedure's schema.
    const input = rules.some((r) => r.endsWith('.email')) ? await opts.getRawInput().catch(() => undefined) : undefined;
    const applicable = rules.filter((rule) => {
      if (!store.rule(rule)) throw new Error(`procedure ${path} names unknown rate-limit rule ${rule}`);
      return rateLimitKey(store, rule, ctx, input) !== null;
    });
    const limiterCtx: LimiterContext = { ...ctx, rateLimitCall: { path, input } };
    // Chain the rules: each limiter calls the next one, the last calls the procedure.
    const run = (i: number): ReturnType<typeof opts.next> => {
      if (i === applicable.length) return opts.next();
      const mw = limiterFor(ctx, store, applicable[i]!);
      return mw({ ...opts, ctx: limiterCtx, input, next: (() => run(i + 1)) as typeof opts.next } as Parameters<
        typeof mw
      >[0]) as ReturnType<typeof opts.next>;
    };
    return run(0);
  });
}

export const rateLimit = rateLimitPhase('request');
export const userRateLimit = rateLimitPhase('user');
