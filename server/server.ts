import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { Config } from './config/config.js';
import { buildDeps, type Deps, type DepsOverrides } from './deps.js';
import { applyMigrations } from './migrations.js';
import { createLogger } from './observability/logger.js';

export interface RunningServer {
  url: string;
  deps: Deps;
  server: Server;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes the pool. */
  close(graceMs?: number): Promise<void>;
}

export interface StartServerOptions extends DepsOverrides {
  databaseUrl: string;
  migrate?: boolean;
  poolMax?: number;
}

/** Builds and starts the service; shared by main.ts and the tests. */
export async function startServer(config: Readonly<Config>, opts: StartServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  // MikroORM runs only here, for the schema (under the migration lock); requests use the pool of deps.ts.
  if (opts.migrate ?? true) await applyMigrations(opts.databaseUrl);
  const deps = buildDeps(config, { url: opts.databaseUrl, poolMax: opts.poolMax }, { ...opts, logger });
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  // Slow-client protection: headers within 10 s, whole request within 30 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  deps.outbox.start();
  deps.maintenance.start();
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    deps,
    server,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        deps.maintenance.stop();
        await deps.background.drain();
        await deps.outbox.stop();
        await deps.rateLimits?.close();
        await deps.close();
      })();
      return closing;
    },
  };
}
