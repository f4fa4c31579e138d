import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config/config.js';
import type { Logger } from './observability/logger.js';

/**
 * WORKERS > 1: one primary process supervises N workers (node:cluster) that
 * share the listening socket. The primary owns what must happen once (the
 * embedded database outside production, migrations) and serves nothing
 * itself; each worker is a complete service with its own connection pool.
 */

/**
 * Why this configuration cannot run several processes, or undefined. The
 * memory rate-limit store keeps counters per process: with N workers every
 * limit (login attempts per IP and per email, reset requests...) would be
 * N times looser, and which worker answers decides whether a caller is
 * limited. Only the postgres store shares counters.
 */
export function clusterRefusal(config: Readonly<Config>): string | undefined {
  if (config.workers > 1 && config.rateLimitStore !== 'postgres') {
    return `WORKERS=${config.workers} needs RATE_LIMIT_STORE=postgres (the memory store keeps rate-limit counters per process, so each limit would be ${config.workers} times looser); set RATE_LIMIT_STORE=postgres or WORKERS=1`;
  }
  return undefined;
}

export interface SuperviseOptions {
  workers: number;
  logger: Logger;
  /** Variables every worker needs from the primary (an embedded database's URL, a per-process test key). */
  env: Record<string, string>;
  /** How long a worker may take to drain after SIGTERM before it is killed. */
  graceMs: number;
  /** After every worker has exited: stop the embedded database, flush telemetry. */
  onStopped: () => Promise<void>;
}

// More crashes than this (per worker slot) within a minute means a crash loop
// (bad deploy, database gone): stop instead of forking forever.
const CRASHES_PER_WORKER_PER_MINUTE = 3;

/** Runs in the primary: forks the workers, replaces crashed ones, and drains them all on SIGTERM/SIGINT. */
export function superviseWorkers(o: SuperviseOptions): void {
  const { logger } = o;
  let stopping = false;
  const crashes: number[] = [];

  const fork = (): Worker => cluster.fork(o.env);
  for (let i = 0; i < o.workers; i++) fork();
  logger.info({ msg: 'cluster primary started', pid: process.pid, workers: o.workers });

  cluster.on('listening', (worker, address) => {
    logger.info({ msg: 'worker listening', worker_pid: worker.process.pid, port: address.port });
  });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ msg: 'worker exited unexpectedly', worker_pid: worker.process.pid, code, signal });
    const now = Date.now();
    crashes.push(now);
    while (crashes.length && now - crashes[0]! > 60_000) crashes.shift();
    if (crashes.length > o.workers * CRASHES_PER_WORKER_PER_MINUTE) {
      logger.fatal({ msg: 'workers keep crashing; stopping the cluster', crashes_last_minute: crashes.length });
      void shutdown('crash-loop', 1);
      return;
    }
    fork();
  });

  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    logger.info({ msg: 'shutting down', signal, workers: workers.length });
    const exits = workers.map(
      (w) => new Promise<number | null>((resolve) => w.once('exit', (code: number | null) => resolve(code))),
    );
    // Each worker stops accepting, finishes its in-flight requests (bounded
    // by graceMs), closes its pool and exits; stragglers are killed.
    for (const w of workers) w.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, o.graceMs + 5_000);
    const codes = await Promise.all(exits);
    clearTimeout(killer);
    try {
      await o.onStopped();
    } catch (err) {
      logger.error({ msg: 'shutdown step failed', err: (err as Error).message });
      exitCode = 1;
    }
    const clean = codes.every((c) => c === 0);
    logger.info({ msg: 'stopped', duration_ms: Date.now() - started, workers_clean: clean });
    logger.flush?.();
    process.exit(exitCode || (clean ? 0 : 1));
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
