import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { entities } from './entities/index.js';

// Compiled builds keep migrations next to dist; sources use migrations/*.ts.
const compiled = import.meta.url.endsWith('.js') && import.meta.url.includes('/dist/');
// The repository (or image) root: this file is server/db/ in sources and
// dist/server/db/ when compiled.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), compiled ? '../../..' : '../..');

export interface OrmOptions {
  clientUrl: string;
  poolMax?: number;
  debug?: boolean;
  /** Receives the query builder's own warnings (dropped connections, ...) instead of console.log. */
  driverLog?: (level: 'warn' | 'error', message: string) => void;
}

/**
 * knex prints pool warnings with console.log (coloured, not JSON), which
 * breaks the one-JSON-line-per-entry log contract during a database outage.
 * Only the first line is passed on, bounded: never a multi-line query dump.
 */
function driverLogger(log: NonNullable<OrmOptions['driverLog']>) {
  const first = (m: unknown) => String(m).split('\n')[0]!.slice(0, 300);
  return {
    warn: (m: unknown) => log('warn', first(m)),
    error: (m: unknown) => log('error', first(m)),
    deprecate: (m: unknown) => log('warn', first(m)),
    debug: () => undefined,
  };
}

export function ormConfig(opts: OrmOptions) {
  return defineConfig({
    clientUrl: opts.clientUrl,
    entities,
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    extensions: [Migrator],
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: compiled ? path.join(root, 'dist/migrations') : path.join(root, 'migrations'),
      pathTs: path.join(root, 'migrations'),
      glob: compiled ? '!(*.d).js' : '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: true,
      snapshotName: '.snapshot-secure-auth',
      emit: 'ts',
      silent: true,
    },
    pool: { min: 0, max: opts.poolMax ?? 10, idleTimeoutMillis: 30_000 },
    driverOptions: {
      connection: { connectionTimeoutMillis: 5_000 },
      ...(opts.driverLog ? { log: driverLogger(opts.driverLog) } : {}),
    },
    debug: opts.debug ?? false,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
  });
}

// Used by the MikroORM CLI (`npx mikro-orm migration:create`).
export default ormConfig({ clientUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/secure_auth' });
