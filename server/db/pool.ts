import pg from 'pg';

/**
 * The service's one connection pool (node-postgres), built by the composition
 * root from the same database URL the migrations use. MikroORM owns the
 * schema (entities, migrations); the running service queries through this
 * pool with prepared statements (see sql.ts).
 */
export interface PoolOptions {
  url: string;
  /** Connections at most (default 10). */
  max?: number;
  /** Called when an idle connection fails (database restart, network cut); the pool drops it and reconnects. */
  onIdleError?: (err: Error) => void;
}

export type Pool = pg.Pool;

export function createPool(opts: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    idleTimeoutMillis: 30_000,
    // A database that does not answer fails the request (UNAVAILABLE) instead of queueing it forever.
    connectionTimeoutMillis: 5_000,
  });
  // Without a listener an idle client's error would crash the process.
  pool.on('error', (err) => opts.onIdleError?.(err));
  return pool;
}
