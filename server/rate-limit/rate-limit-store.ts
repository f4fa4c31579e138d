import { createHmac } from 'node:crypto';
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitRule } from '../config/config.js';
import { deriveKey } from '../security/keyring.js';
import { normaliseEmail } from '../services/email-normaliser.js';

/** The table RateLimiterPostgres keeps its counters in (one row per rule and key). */
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
  /** HKDF input for the email-key digest (SECRET_KEY): instances sharing a store must share it. */
  secretKey: string;
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
  private readonly emailKeyKey: Buffer;
  private readonly pool?: pg.Pool;
  private tableReady?: Promise<void>;

  constructor(private readonly opts: RateLimitStoreOptions) {
    this.kind = opts.kind;
    this.emailKeyKey = deriveKey(opts.secretKey, 'rate-limit-email-key');
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
          // Created by ensureTable() below, retried after an outage; the
          // library's own one-shot creation would leave the limiter broken
          // for good if the database was down at start-up.
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

  /** Resolves once the counter table exists; a failed attempt is retried by the next call. */
  async ready(): Promise<void> {
    if (!this.pool) return;
    this.tableReady ??= this.pool
      .query(
        `create table if not exists "${RATE_LIMIT_TABLE}" (key varchar(255) primary key, points integer not null default 0, expire bigint)`,
      )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.tableReady = undefined;
        // Concurrent creation by another instance: the table is there.
        if ((err as { code?: string }).code === '23505') return;
        throw err;
      });
    return this.tableReady;
  }

  /**
   * The key an email is counted under: HMAC-SHA256 of the normalised address
   * under a key derived from SECRET_KEY. The shared table therefore holds no
   * address (a dump reveals nobody's email), and a plain hash would not do:
   * known addresses could be confirmed by hashing them.
   */
  emailKey(email: string): string {
    return createHmac('sha256', this.emailKeyKey).update(normaliseEmail(email)).digest('base64url');
  }

  /** Health of the shared store: one round trip (memory store: always ok). */
  async check(timeoutMs = 2_000): Promise<'ok' | 'error'> {
    if (!this.pool) return 'ok';
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.ready().then(() => this.pool!.query(`select 1 from "${RATE_LIMIT_TABLE}" limit 1`)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('rate-limit store check timed out')), timeoutMs);
        }),
      ]);
      return 'ok';
    } catch {
      return 'error';
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
