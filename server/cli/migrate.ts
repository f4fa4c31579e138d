/**
 * `npm run migrate` (sources) and `npm run migrate:prod` /
 * `node dist/server/cli/migrate.js` (compiled; the release job): applies
 * pending migrations to the service's database (DATABASE_URL, else the embedded one) and prints their names.
 */
import { runMigrations } from './migrate-command.js';
import { CliError, safeDbMessage } from './runtime.js';

const out = (line: string) => process.stdout.write(line + '\n');

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  out(`Usage: npm run migrate   (compiled: node dist/server/cli/migrate.js)

Applies every pending migration in one transaction and prints each name.
Database: DATABASE_URL; outside production without it, the embedded database
of npm start (.data/database-url), else one started for this command.
Concurrent runs wait for each other (PostgreSQL advisory lock).
Exit codes: 0 applied or up to date, 1 failed (nothing applied).`);
  process.exit(0);
}

runMigrations(out).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(
      `secure-auth migrate: ${err instanceof CliError ? err.message : `failed: ${safeDbMessage(err)}`}\n`,
    );
    process.exit(err instanceof CliError ? err.exitCode : 1);
  },
);
