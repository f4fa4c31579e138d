import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { freePort } from '../../server/db/embedded-postgres.js';

/**
 * The Better Auth peer (bench/peers/better-auth): its own package and
 * lockfile, installed with `npm ci` into its own node_modules on first use
 * (never a dependency of the service), its own database on the bench's
 * PostgreSQL, started with plain `node` (no tsx, no telemetry preload).
 */
export const PEER_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../peers/better-auth');

/** The peer's installed better-auth version; installs it first when needed. */
export function ensurePeerInstalled(log: (msg: string) => void): string {
  const stamp = path.join(PEER_DIR, 'node_modules/.package-lock.json');
  // npm writes node_modules/.package-lock.json on install; without it (or better-auth in it), install.
  const current = existsSync(stamp) && readFileSync(stamp, 'utf8').includes('"node_modules/better-auth"');
  if (!current) {
    log('installing the Better Auth peer (npm ci in bench/peers/better-auth, first run only)');
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: PEER_DIR,
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new Error(
        `npm ci for the Better Auth peer failed (skip it with --no-peer):\n${(r.stdout + r.stderr).slice(-2000)}`,
      );
  }
  const pkg = JSON.parse(readFileSync(path.join(PEER_DIR, 'node_modules/better-auth/package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Creates the peer's database next to the service's and returns its URL. */
export async function createPeerDatabase(serviceUrl: string, name = 'better_auth'): Promise<string> {
  const client = new pg.Client({ connectionString: serviceUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name}`);
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serviceUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface PeerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startPeer(databaseUrl: string, env: Record<string, string> = {}): Promise<PeerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(PEER_DIR, 'server.mjs')], {
    cwd: PEER_DIR,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`Better Auth peer exited with ${code}: ${err.trim()}`)));
  });
  child.stdout!.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Better Auth refuses a POST without an Origin header (CSRF protection); its
 * browser clients always send one, so the bench does too.
 */
export function peerPostHeaders(url: string): Record<string, string> {
  return { 'content-type': 'application/json', origin: url };
}

/** Signs a user up and in; returns the session cookie (`name=value`) get-session takes. */
export async function peerSession(url: string, email: string, password: string, signUp: boolean): Promise<string> {
  if (signUp) {
    const res = await fetch(`${url}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: peerPostHeaders(url),
      body: JSON.stringify({ email, password, name: 'Bench Peer' }),
    });
    if (res.status !== 200) throw new Error(`peer sign-up: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  const res = await fetch(`${url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: peerPostHeaders(url),
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`peer sign-in: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  const cookie = res.headers.getSetCookie().find((c) => c.includes('session_token='));
  if (!cookie) throw new Error('peer sign-in set no session cookie');
  return cookie.split(';')[0]!;
}
