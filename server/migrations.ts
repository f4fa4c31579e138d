import pg from 'pg';
import { initOrm, migrateUp } from './db/orm.js';

/**
 * Schema upkeep shared by `npm start`, the production start and the
 * migration job. A PostgreSQL advisory lock serialises concurrent runs (two
 * pods starting the release job, or several processes starting at once):
 * the second waits, then finds nothing pending.
 */

// Any constant works; it only has to be the same for every migrating process.
const MIGRATION_LOCK_KEY = 0x5ec0a07;

/** The schema is older than this build; the message names the fix. */
export class SchemaBehindError extends Error {
  constructor(
    readonly pending: string[],
    fix: string,
  ) {
    super(
      `the database schema is behind (${pending.length} pending migration${pending.length === 1 ? '' : 's'}: ${pending.join(', ')}); ${fix}`,
    );
    this.name = 'SchemaBehindError';
  }
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const orm = await initOrm({ clientUrl: databaseUrl, poolMax: 1 });
  try {
    return (await orm.getMigrator().getPendingMigrations()).map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}

/** Applies pending migrations (all in one transaction) under the advisory lock; returns their names. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const lock = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const orm = await initOrm({ clientUrl: databaseUrl, poolMax: 1 });
    try {
      return await migrateUp(orm);
    } finally {
      await orm.close(true);
    }
  } finally {
    // Ending the session releases the lock, even after a failed migration.
    await lock.end().catch(() => undefined);
  }
}
