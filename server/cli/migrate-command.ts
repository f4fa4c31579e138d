import { loadCliConfig, resolveCliDatabase, safeDbMessage, CliError } from './runtime.js';

/**
 * Applies pending migrations (`npm run migrate`, `npm run admin -- migrate`,
 * and `node dist/server/cli/migrate.js` in the release job) and prints their
 * names. Concurrent runs wait for each other (see server/migrations.ts).
 */
export async function runMigrations(out: (line: string) => void): Promise<string[]> {
  const config = loadCliConfig();
  const db = await resolveCliDatabase(config, out);
  try {
    const { applyMigrations } = await import('../migrations.js');
    let applied: string[];
    try {
      applied = await applyMigrations(db.url);
    } catch (err) {
      // Migrations run in one transaction (allOrNothing): nothing was applied.
      throw new CliError(`migration failed, nothing applied (${db.source}): ${safeDbMessage(err)}`);
    }
    for (const name of applied) out(`applied ${name}`);
    out(applied.length ? `${applied.length} migration(s) applied` : 'no pending migrations: the schema is up to date');
    return applied;
  } finally {
    await db.stop();
  }
}
