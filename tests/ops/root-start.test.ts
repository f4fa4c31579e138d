import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertReachableByPostgresUser } from '../../server/db/embedded-postgres.js';
import { ROOT } from './cli-support.js';

/**
 * `npm start` as root with the data folder under a folder only root may enter
 * (`/root/...`, a `mktemp -d` folder): the embedded PostgreSQL runs as the
 * system user `postgres` and cannot reach it, so the start must end with one
 * line naming the cause and the fix, not a stack trace from deep in initdb.
 */
const s = suite('ops: npm start in a folder other users cannot enter');

s(
  'as root: one line that names the closed folder and the fix, exit 1; otherwise the check lets the start go on',
  () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-closed-'));
    chmodSync(closed, 0o700);
    const dataDir = path.join(closed, 'checkout', '.data');
    try {
      if (process.getuid?.() !== 0) {
        // Not root: PostgreSQL runs as this user, who owns the folder.
        assertReachableByPostgresUser(dataDir);
        return;
      }
      const run = spawnSync('npx', ['tsx', 'server/main.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, APP_ENV: 'local', DATA_DIR: dataDir, PORT: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.is(run.status, 1, `exit status (stderr: ${run.stderr})`);
      const lines = run.stderr.trim().split('\n');
      assert.is(lines.length, 1, `one line, got: ${run.stderr}`);
      assert.match(lines[0]!, /^secure-auth: cannot start\. /);
      assert.match(lines[0]!, `${closed} is closed to other users (mode 700)`);
      assert.match(lines[0]!, 'DATABASE_URL');
      assert.not.match(run.stderr, /\n\s+at /);
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  },
);

s.run();
