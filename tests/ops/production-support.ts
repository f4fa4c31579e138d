import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../server/db/embedded-postgres.js';
import { testGlobals } from '../support/globals.js';
import { rememberSecret } from '../support/secrets.js';
import { ROOT } from './cli-support.js';

/**
 * The final stage of the Dockerfile, reproduced outside Docker: a directory
 * holding only what the image holds (package.json, dist/, and the packages
 * `npm ci --omit=dev --omit=optional` installs), run with the image's
 * commands and environment.
 */

const SOURCE_DIRS = ['server', 'shared', 'otel', 'migrations'];

function newestSource(): { file: string; mtime: number } {
  let newest = { file: '', mtime: 0 };
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (name.endsWith('.ts') && st.mtimeMs > newest.mtime) newest = { file: full, mtime: st.mtimeMs };
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  return newest;
}

/** True when some compiled file is missing or older than its source. */
export function buildIsStale(): boolean {
  const walk = (dir: string): boolean => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) {
        if (walk(full)) return true;
      } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const out = path.join(ROOT, 'dist', path.relative(ROOT, full)).replace(/\.ts$/, '.js');
        if (!existsSync(out) || statSync(out).mtimeMs < st.mtimeMs) return true;
      }
    }
    return false;
  };
  return SOURCE_DIRS.some((d) => existsSync(path.join(ROOT, d)) && walk(path.join(ROOT, d)));
}

/**
 * CI runs `npm run build` before `npm test`; a developer's dist/ may be
 * missing or stale, so compile the server (the first step of `npm run build`)
 * when needed.
 */
export function ensureServerBuild(): { rebuilt: boolean } {
  if (!buildIsStale()) return { rebuilt: false };
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`build failed (newest source ${newestSource().file}):\n${r.stdout}\n${r.stderr}`);
  return { rebuilt: true };
}

/** Top-level packages `npm ci --omit=dev --omit=optional` installs, read from the lockfile. */
export function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean; link?: boolean }>;
  };
  const names: string[] = [];
  for (const [key, meta] of Object.entries(lock.packages)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
    if (!m || meta.dev || meta.optional || meta.devOptional || meta.link) continue;
    names.push(m[1]!);
  }
  return names;
}

/**
 * Installed in the image (regular dependencies) but only as dead weight
 * without their optional platform binaries: leaving them out here proves the
 * production path never loads them (no embedded database, no TypeScript
 * loader at run time).
 */
export const NOT_LOADED_IN_PRODUCTION = ['embedded-postgres', 'tsx'];

/** Builds the image's /app: package.json, a copy of dist/, and links to the production packages only. */
export function imageLayout(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-image-'));
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules);
  for (const name of productionPackages()) {
    const target = path.join(ROOT, 'node_modules', name);
    if (!existsSync(target) || NOT_LOADED_IN_PRODUCTION.includes(name)) continue;
    if (name.includes('/')) mkdirSync(path.join(modules, name.split('/')[0]!), { recursive: true });
    symlinkSync(target, path.join(modules, name), 'dir');
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const PRODUCTION_SECRET_KEY = 'production-test-key-0123456789abcdefghijklmnopqrstuv';
const SMTP_PASSWORD = 'smtp-password-for-tests';
// The end-of-run secret scan looks for these in every log line.
rememberSecret(PRODUCTION_SECRET_KEY, SMTP_PASSWORD);

/** The environment an operator gives the container (nothing inherited that could mask a missing variable). */
export function productionEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const g = testGlobals();
  return {
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    NODE_ENV: 'production',
    APP_ENV: 'production',
    HOST: '127.0.0.1',
    SECRET_KEY: PRODUCTION_SECRET_KEY,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(g.smtp.port),
    SMTP_USER: 'secure-auth',
    SMTP_PASSWORD,
    SMTP_SECURE: 'false',
    EMAIL_FROM: 'secure-auth <no-reply@auth.example.com>',
    PUBLIC_URL: 'https://auth.example.com',
    // Production refuses a work factor N*r*p below 2^17*8*1; this meets it
    // with 16 MiB per hash instead of 128 MiB (N=2^14, r=8, p=8).
    SCRYPT_LOG_N: '14',
    SCRYPT_P: '8',
    ...extra,
  };
}

export interface ProdProcess {
  child: ChildProcess;
  url: string;
  /** Parsed JSON log lines so far. */
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the first log line matching. */
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `cmd args` in `cwd` and collects its JSON log lines. */
export async function startProduction(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<ProdProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      // Production's log lines join the run's secret scan.
      if (line) testGlobals().logLines.push(line);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: '(not json)', raw: line });
      }
    }
    waiters.splice(0).forEach((w) => w());
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  void new Promise((resolve) => child.once('exit', resolve)).then(() => {
    if (err) testGlobals().logLines.push(...err.split('\n').filter(Boolean));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      waiters.splice(0).forEach((w) => w());
      resolve({ code, signal });
    }),
  );
  let dead = false;
  void exited.then(() => (dead = true));
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    lines,
    stderr: () => err,
    exited,
    async waitForLine(pred, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (dead)
          throw new Error(
            `process exited before the expected log line\nstderr: ${err}\nstdout: ${JSON.stringify(lines)}`,
          );
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`no matching log line in ${timeoutMs} ms\nstderr: ${err}\nstdout: ${JSON.stringify(lines)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 250));
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
}

/** Exact commands of the image: read from package.json, which the Dockerfile's CMD must match. */
export function scriptArgs(script: 'start:prod' | 'migrate:prod'): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = pkg.scripts[script]!.split(/\s+/);
  if (words[0] !== 'node') throw new Error(`${script} must start with node`);
  return words.slice(1);
}
