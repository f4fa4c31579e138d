import pg from 'pg';
import { testGlobals } from './globals.js';

/**
 * Direct SQL against the shared test database, for assertions about what is
 * stored (digests, revocations, audit rows) that no API exposes. Read-mostly:
 * suites share one database, so never truncate or delete others' rows.
 */

let pool: pg.Pool | undefined;

function shared(): pg.Pool {
  // allowExitOnIdle: the runner's process.exit does not wait for this pool.
  if (!pool) {
    pool = new pg.Pool({ connectionString: testGlobals().databaseUrl, max: 3, allowExitOnIdle: true });
    // An idle client loses its server when the runner stops PostgreSQL at the
    // end; without a listener that 'error' event would crash the run.
    pool.on('error', () => undefined);
  }
  return pool;
}

/** Runs one statement (`$1` placeholders) and returns its rows. */
export async function dbRows<T = Record<string, any>>(text: string, params: unknown[] = []): Promise<T[]> {
  const res = await shared().query(text, params);
  return res.rows as T[];
}

/** The first row, or undefined. */
export async function dbRow<T = Record<string, any>>(text: string, params: unknown[] = []): Promise<T | undefined> {
  return (await dbRows<T>(text, params))[0];
}

/** Polls `probe` until it returns a truthy value; fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
