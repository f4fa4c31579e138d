import type { MikroORM } from '@mikro-orm/postgresql';

/**
 * Raw SQL on connections borrowed from MikroORM's own pool (one pool per
 * process, one connection budget). Repositories write `?` placeholders; each
 * distinct statement is compiled once to `$n` form and sent as a named
 * prepared statement, so the hot paths (session check, refresh rotation) cost
 * one round trip each with no query building, no parameter inlining and no
 * entity hydration. MikroORM keeps the schema, the migrations and the pool.
 */

interface PgClient {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
}

/** Where connections come from: MikroORM's knex pool. */
export interface ConnectionSource {
  acquire(): Promise<PgClient>;
  release(client: PgClient): void;
}

interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(c: PgClient): Promise<void>;
}

export function connectionSource(orm: MikroORM): ConnectionSource {
  const client = (orm.em.getConnection().getKnex() as unknown as { client: KnexClient }).client;
  return {
    acquire: () => client.acquireConnection(),
    release: (c) => void client.releaseConnection(c),
  };
}

interface Compiled {
  name: string;
  text: string;
}
// Statements are fixed strings in the repositories (a handful of filter
// combinations at most), so this cache is bounded by the code, not by input.
const compiled = new Map<string, Compiled>();
function compile(query: string): Compiled {
  let c = compiled.get(query);
  if (!c) {
    let n = 0;
    c = { name: `sa_${compiled.size}`, text: query.replace(/\?/g, () => `$${++n}`) };
    compiled.set(query, c);
  }
  return c;
}

export class Sql {
  private readonly onCommit: Array<() => void> = [];

  constructor(
    private readonly source: ConnectionSource,
    /** Set inside a transaction: every statement runs on this connection. */
    private readonly client?: PgClient,
  ) {}

  /**
   * Runs `hook` once the surrounding transaction commits (at once outside
   * one), e.g. to wake the mail worker only when the message is visible.
   */
  afterCommit(hook: () => void): void {
    if (this.client) this.onCommit.push(hook);
    else hook();
  }

  async all<T>(query: string, params: unknown[] = []): Promise<T[]> {
    const { name, text } = compile(query);
    const run = async (c: PgClient) => (await c.query({ name, text, values: params })).rows;
    let rows: Record<string, unknown>[];
    if (this.client) rows = await run(this.client);
    else {
      const c = await this.source.acquire();
      try {
        rows = await run(c);
      } finally {
        this.source.release(c);
      }
    }
    for (const row of rows) reviveDates(row);
    return rows as T[];
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
    const c = await this.source.acquire();
    try {
      return await fn(new Sql(this.source, c));
    } finally {
      this.source.release(c);
    }
  }

  /** Runs `fn` in one transaction (READ COMMITTED); rolls back on throw. Nested calls join it. */
  async tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.client) return fn(this);
    const c = await this.source.acquire();
    try {
      await c.query({ text: 'begin' });
      const inner = new Sql(this.source, c);
      const result = await fn(inner);
      await c.query({ text: 'commit' });
      for (const hook of inner.onCommit) hook();
      return result;
    } catch (err) {
      await c.query({ text: 'rollback' }).catch(() => undefined);
      throw err;
    } finally {
      this.source.release(c);
    }
  }
}

// MikroORM configures its pg connections to return timestamps as strings (it
// hydrates them itself). Raw rows name every timestamp *_at or *_until.
const TIMESTAMP_COLUMN = /(_at|_until)$/;
function reviveDates(row: Record<string, unknown>): void {
  for (const key in row) {
    const v = row[key];
    if (typeof v === 'string' && TIMESTAMP_COLUMN.test(key)) row[key] = new Date(v);
  }
}
