import type pg from 'pg';
import { DatabaseUnavailableError } from '../errors.js';
import type { Pool } from './pool.js';

/**
 * Raw SQL on the service's pool. Repositories write `?` placeholders (or `$n`
 * where a statement uses a value twice); each distinct statement is compiled
 * once to `$n` form and sent as a named prepared statement, so the hot paths (session check, refresh rotation) cost
 * one round trip each with no query building, no parameter inlining and no
 * entity hydration. Row types come from the entities (row-types.ts), and a
 * test prepares every statement against the migrated schema.
 */

interface Compiled {
  name: string;
  text: string;
}
// Statements are fixed strings in the repositories (a handful of filter
// combinations at most), so this cache is bounded by the code, not by input.
const compiled = new Map<string, Compiled>();

/** A repository statement in the form the driver sends (`$n` placeholders) and the name it is prepared under. */
export function compileStatement(query: string): Compiled {
  let c = compiled.get(query);
  if (!c) {
    let n = 0;
    c = { name: `sa_${compiled.size}`, text: query.replace(/\?/g, () => `$${++n}`) };
    compiled.set(query, c);
  }
  return c;
}

/**
 * A failure that did not come from the server (no SQLSTATE code): the
 * connection could not be made or was lost mid-statement. Server errors
 * (constraint, syntax, serialization) keep their own code and stay as they are.
 */
function connectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return !(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code));
}

/**
 * The pool listens for errors only on idle connections. A checked-out one
 * whose server goes away between two statements (a killed database, a
 * failover) emits 'error' with nobody listening, which crashes the process.
 * While checked out it has this listener instead; the error is remembered
 * and the connection is destroyed, not reused, on release.
 */
const lostWhileCheckedOut = new WeakMap<pg.PoolClient, unknown>();
const listeners = new WeakMap<pg.PoolClient, (err: unknown) => void>();

async function acquire(pool: Pool): Promise<pg.PoolClient> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw new DatabaseUnavailableError(err);
  }
  const onError = (err: unknown) => lostWhileCheckedOut.set(client, err);
  listeners.set(client, onError);
  client.on('error', onError);
  return client;
}

function release(client: pg.PoolClient, broken: unknown): void {
  const onError = listeners.get(client);
  if (onError) client.removeListener('error', onError);
  client.release((broken ?? lostWhileCheckedOut.get(client)) as Error | undefined);
}

async function run(client: pg.PoolClient, query: { name?: string; text: string; values?: unknown[] }) {
  try {
    return (await client.query(query)).rows as Record<string, unknown>[];
  } catch (err) {
    throw connectionLost(err) ? new DatabaseUnavailableError(err) : err;
  }
}

export class Sql {
  private readonly onCommit: Array<() => void> = [];

  constructor(
    private readonly pool: Pool,
    /** Set inside a transaction: every statement runs on this connection. */
    private readonly client?: pg.PoolClient,
  ) {}

  /** True inside `tx` (or `pinned`): statements share one connection and, in `tx`, commit together. */
  get bound(): boolean {
    return this.client !== undefined;
  }

  /**
   * Runs `hook` once the surrounding transaction commits (at once outside
   * one), e.g. to wake the mail worker only when the message is visible.
   */
  afterCommit(hook: () => void): void {
    if (this.client) this.onCommit.push(hook);
    else hook();
  }

  async all<T>(query: string, params: unknown[] = []): Promise<T[]> {
    const { name, text } = compileStatement(query);
    if (this.client) return (await run(this.client, { name, text, values: params })) as T[];
    const c = await acquire(this.pool);
    let broken: unknown;
    try {
      return (await run(c, { name, text, values: params })) as T[];
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) broken = err;
      throw err;
    } finally {
      // A connection that failed below SQL is not handed to the next caller.
      release(c, broken);
    }
  }

  async one<T>(query: string, params: unknown[] = []): Promise<T | undefined> {
    const rows = await this.all<T>(query, params);
    return rows[0];
  }

  /**
   * Runs `fn` on one connection held for its duration, each statement in
   * its own transaction: for session-level state such as an advisory lock
   * around a series of small, separately committed batches.
   */
  async pinned<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.client) return fn(this);
    const c = await acquire(this.pool);
    let broken: unknown;
    try {
      return await fn(new Sql(this.pool, c));
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) broken = err;
      throw err;
    } finally {
      // Dropped rather than reused when it failed below SQL: session state (a lock) dies with it.
      release(c, broken);
    }
  }

  /** Runs `fn` in one transaction (READ COMMITTED); rolls back on throw. Nested calls join it. */
  async tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.client) return fn(this);
    const c = await acquire(this.pool);
    let broken: unknown;
    try {
      await run(c, { text: 'begin' });
      const inner = new Sql(this.pool, c);
      const result = await fn(inner);
      await run(c, { text: 'commit' });
      for (const hook of inner.onCommit) hook();
      return result;
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) broken = err;
      else await c.query('rollback').catch((e: unknown) => (broken = e));
      throw err;
    } finally {
      release(c, broken);
    }
  }
}
