import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './cli-support.js';

/**
 * `npm start` with the embedded database, stopped the way a terminal or a
 * supervisor stops it: SIGTERM to the npm process itself. npm passes the
 * signal to its script's process only; a shell or wrapper in between would
 * leave the service and PostgreSQL running. Nothing may be left behind.
 */
const s = suite('ops: signals to npm start');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Processes whose command line mentions `needle` (Linux /proc). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(`${pid} ${cmd.slice(0, 100)}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

s('SIGTERM to npm start stops the service and its embedded PostgreSQL; no process is left', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-start-'));
  chmodSync(dir, 0o755);
  const dataDir = path.join(dir, '.data');
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    let healthy = false;
    for (let i = 0; i < 120 && !healthy; i++) {
      healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (!healthy) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(healthy, 'npm start serves /health');
    assert.ok(processesMentioning(dataDir).length > 0, 'the embedded PostgreSQL runs in the data folder');
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    npm.kill('SIGTERM');
    await exited;
    let left = processesMentioning(dataDir);
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      left = processesMentioning(dataDir);
    }
    assert.equal(left, [], 'no service or PostgreSQL process left behind');
    assert.is(
      await fetch(`http://127.0.0.1:${port}/health`).then(
        () => 'answered',
        () => 'refused',
      ),
      'refused',
    );
  } finally {
    if (npm.exitCode === null) npm.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
