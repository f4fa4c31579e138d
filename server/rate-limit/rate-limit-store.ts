import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitRule } from '../config/config.js';
import { withTimeout } from '../timeout.js';

/** The table RateLimiterPostgres keeps its counters in (one row per rule and key; created by a migration). */
export const RATE_LIMIT_TABLE = 'rate_limits';

/**
 * Rules guarding credential procedures (login, register, password reset and
 * resend verification, one-time token guesses, current-password checks).
 * When the shared store cannot be reached these fail closed: an attacker who
 * can take the counter store down must not get unlimited password or token
 * guesses. Every other rule fails open, because refusing every call of every
 * user is the worse outage.
 */
const FAIL_CLOSED_PREFIXES = ['login.', 'register.', 'reset.', 'token.', 'password.'];

export interface RateLimitStoreOptions {
  rules: Readonly<Record<string, RateLimitRule>>;
  kind: 'memory' | 'postgres';
  /**
   * The key an email is counted under: a keyed digest of the normalised
   * address (the keyring's lookup digest), so the shared table holds no
   * address and a plain hash of a known address cannot confirm it.
   */
  emailKey: (email: string) => string;
  /** Connection string of the shared store (postgres kind): the service's own database. */
  databaseUrl?: string;
}

/**
 * The counters behind the rate limits: one rate-limiter-flexible limiter per
 * rule, in memory (per process) or in PostgreSQL (shared by every process and
 * instance). This module knows nothing of tRPC; the middleware asks it for a
 * rule's limiter and for the key to count under.
 */
export class RateLimitStore {
  readonly kind: 'memory' | 'postgres';
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly pool?: pg.Pool;

  constructor(private readonly opts: RateLimitStoreOptions) {
    this.kind = opts.kind;
    if (opts.kind === 'postgres') {
      if (!opts.databaseUrl) throw new Error('the postgres rate-limit store needs a database URL');
      // A pool of its own, small and quick to give up: a counter lookup must
      // never queue behind (or starve) the service's own queries, and an
      // unreachable store must be noticed in seconds, not after the client's
      // timeout.
      this.pool = new pg.Pool({
        connectionString: opts.databaseUrl,
        max: 4,
        idleTimeoutMillis: 10_000,
        connectionTimeoutMillis: 2_000,
        query_timeout: 2_000,
        allowExitOnIdle: true,
        application_name: 'secure-auth rate limits',
      });
      // An idle connection dropped by the server must not crash the process;
      // the next query reconnects or reports the store as unreachable.
      this.pool.on('error', () => undefined);
    }
  }

  /** The rule's points and window, or undefined for an unknown name. */
  rule(name: string): RateLimitRule | undefined {
    return this.opts.rules[name];
  }

  failsClosed(name: string): boolean {
    return FAIL_CLOSED_PREFIXES.some((p) => name.startsWith(p));
  }

  /** The limiter of one rule, created on first use. */
  limiter(name: string): RateLimiterAbstract {
    let limiter = this.limiters.get(name);
    if (limiter) return limiter;
    const rule = this.rule(name);
    if (!rule) throw new Error(`unknown rate-limit rule ${name}`);
    const [points, duration] = rule;
    if (this.pool) {
      limiter = new RateLimiterPostgres(
        {
          storeClient: this.pool,
          storeType: 'pool',
          tableName: RATE_LIMIT_TABLE,
          // The table comes from a migration: no DDL at run time.
          tableCreated: true,
          keyPrefix: name,
          points,
          duration,
          // One sweeper of expired rows for the whole table is enough.
          clearExpiredByTimeout: this.limiters.size === 0,
        },
        () => undefined,
      );
    } else {
      limiter = new RateLimiterMemory({ keyPrefix: name, points, duration });
    }
    this.limiters.set(name, limiter);
    return limiter;
  }

  /** The key an email is counted under (see RateLimitStoreOptions.emailKey). */
  emailKey(email: string): string {
    return this.opts.emailKey(email);
  }

  /** Health of the shared store: one round trip (memory store: always ok). */
  async check(timeoutMs = 2_000): Promise<'ok' | 'error'> {
    if (!this.pool) return 'ok';
    try {
      await withTimeout(
        this.pool.query(`select 1 from "${RATE_LIMIT_TABLE}" limit 1`),
        timeoutMs,
        'rate-limit store check',
      );
      return 'ok';
    } catch {
      return 'error';
    }
  }

  async close(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
