import 'dotenv/config';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { resolveDevDatabase } from './db/embedded-postgres.js';
import { createLogger } from './observability/logger.js';
import { startServer } from './server.js';

/**
 * Entry point: loadConfig -> (embedded PostgreSQL outside production) ->
 * migrations -> app -> listen; drains cleanly on SIGINT/SIGTERM.
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
  const logger = createLogger(config.logLevel);
  if (config.secretKeySource === 'generated') {
    logger.warn({ msg: 'SECRET_KEY not set: generated one into .data/secret-key (development only)' });
  }

  let databaseUrl = config.databaseUrl;
  let stopDatabase = async () => undefined as void;
  if (!databaseUrl) {
    logger.info({ msg: 'starting embedded PostgreSQL', dir: config.dataDir });
    const db = await resolveDevDatabase(config.dataDir, (line) => logger.debug({ msg: 'postgres', line }));
    databaseUrl = db.url;
    stopDatabase = db.stop;
  }

  const running = await startServer(config, { databaseUrl, logger });
  logger.info({ msg: 'listening', url: running.url, env: config.appEnv, mail: config.smtp ? 'smtp' : 'file outbox' });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ msg: 'shutting down', signal });
    try {
      await running.close();
      await stopDatabase();
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

main().catch((err: Error) => {
  process.stderr.write(`secure-auth: start-up failed: ${err.message}\n`);
  process.exit(1);
});
