import pg from 'pg';
import { loadCliConfig, resolveCliDatabase, safeDbMessage, CliError } from './runtime.js';

// Any constant works; it only has to be the same for every migrating process.
const MIGRATION_LOCK_KEY = 0x5ec0a07;

/**
 * Applies pending migrations (`npm run migrate`, `npm run admin -- migrate`,
 * and `node dist/server/cli/migrate.js` in the release job). A PostgreSQL
 * advisory lock serialises concurrent runs (two pods starting the release
 * job at once): the second waits, then finds nothing pending.
 */
export async function runMigrations(out: (line: string) => void): Promise<string[]> {
  const config = loadCliConfig();
  const db = await resolveCliDatabase(config, out);
  const lock = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: 10_000 });
  try {
    try {
      await lock.connect();
      await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    } catch (err) {
      throw new CliError(`cannot reach the database (${db.source}): ${safeDbMessage(err)}`);
    }
    const { initOrm, migrateUp } = await import('../db/orm.js');
    const orm = await initOrm({ clientUrl: db.url, poolMax: 1 });
    try {
      const applied = await migrateUp(orm);
      for (const name of applied) out(`applied ${name}`);
      out(applied.length ? `${applied.length} migration(s) applied` : 'no pending migrations: the schema is up to date');
      return applied;
    } catch (err) {
      // Migrations run in one transaction (allOrNothing): nothing was applied.
      throw new CliError(`migration failed, nothing applied: ${safeDbMessage(err)}`);
    } finally {
      await orm.close(true);
    }
  } finally {
    await lock.end().catch(() => undefined);
    await db.stop();
  }
}
