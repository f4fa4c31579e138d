import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../server/config/config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/db/embedded-postgres.js';
import { createLogger } from '../../server/observability/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import type { TokenPair } from '../../shared/dto.js';
import { mutation, query } from '../support/http.js';
import { startOwnDatabase, type OwnDatabase } from '../support/own-database.js';
import { baseTestEnv } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';
import pg from 'pg';

/**
 * The database is killed (SIGKILL, no shutdown) in the middle of a refresh
 * storm and started again. Every answer meanwhile is a 200 or a clean
 * UNAVAILABLE, no session is half-rotated (one live token per family), every
 * acknowledged token still works, and the service recovers without a
 * restart. Session checks (auth.me, which share statements under load) run
 * through the same outage: an unreachable database is UNAVAILABLE, never a
 * refused session, and none of them hangs.
 */
interface Ctx {
  db: OwnDatabase;
  restarted?: EmbeddedDatabase;
  app: RunningServer;
}
const s = suite<Ctx>('faults: database killed during a refresh and session-check storm');
s.before(async (ctx) => {
  ctx.db = await startOwnDatabase();
  const config = loadConfig({ ...baseTestEnv(), REFRESH_REUSE_GRACE_SECONDS: '60' });
  ctx.app = await startServer(config, {
    databaseUrl: ctx.db.url,
    migrate: false,
    poolMax: 5,
    logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    outbox: { pollMs: 200, firstRetrySeconds: 0.5, maxBackoffSeconds: 1 },
  });
});
s.after(async (ctx) => {
  await ctx.app?.close();
  if (ctx.restarted) {
    // The first server process is gone (killed): stop its successor and remove the files.
    await ctx.restarted.stop().catch(() => undefined);
    rmSync(ctx.db.dir, { recursive: true, force: true });
  } else {
    await ctx.db?.destroy().catch(() => undefined);
  }
});

s('SIGKILL mid-storm: clean answers only, one live token per session, acknowledged tokens live on', async (ctx) => {
  const url = ctx.app.url;
  const users = await Promise.all(Array.from({ length: 4 }, () => createVerifiedUser(url)));
  const held = users.map((u) => u.tokens.refreshToken);
  const statuses = new Map<string, number>();
  let stop = false;
  const meStatuses = new Map<string, number>();
  const meStorm = users.map(async (u) => {
    while (!stop) {
      const r = await query(url, 'auth.me', undefined, { token: u.tokens.accessToken }).catch(() => undefined);
      if (!r) continue;
      const key = r.status === 200 ? '200' : `${r.status} ${r.error?.data.appCode}`;
      meStatuses.set(key, (meStatuses.get(key) ?? 0) + 1);
      if (r.status !== 200) await new Promise((res) => setTimeout(res, 20));
    }
  });
  const storm = users.map(async (_u, i) => {
    while (!stop) {
      const r = await mutation<TokenPair>(url, 'auth.refresh', { refreshToken: held[i]! }).catch(() => undefined);
      if (!r) continue;
      const key = r.status === 200 ? '200' : `${r.status} ${r.error?.data.appCode}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      // The client keeps what was acknowledged, and retries with it otherwise.
      if (r.status === 200) held[i] = r.data.refreshToken;
      else await new Promise((res) => setTimeout(res, 50));
    }
  });
  try {
    await new Promise((res) => setTimeout(res, 500));
    const pid = Number(readFileSync(path.join(ctx.db.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    await new Promise((res) => setTimeout(res, 1500));
    ctx.restarted = await startEmbeddedPostgres({ dir: ctx.db.dir, persistent: true, port: ctx.db.port });
    // The service finds the database again by itself.
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${url}/health`)).status !== 200) {
      assert.ok(Date.now() < deadline, 'the service did not recover');
      await new Promise((res) => setTimeout(res, 200));
    }
    await new Promise((res) => setTimeout(res, 500));
  } finally {
    stop = true;
    await Promise.all([...storm, ...meStorm]);
  }

  for (const key of meStatuses.keys())
    assert.ok(
      key === '200' || key === '503 UNAVAILABLE',
      `auth.me answered ${key}: ${JSON.stringify([...meStatuses])}`,
    );
  assert.ok(meStatuses.has('503 UNAVAILABLE'), `auth.me saw the outage: ${JSON.stringify([...meStatuses])}`);
  for (const u of users) {
    assert.is((await query(url, 'auth.me', undefined, { token: u.tokens.accessToken })).status, 200, 'after recovery');
  }

  for (const key of statuses.keys())
    assert.ok(key === '200' || key === '503 UNAVAILABLE', `unexpected answer ${key}: ${JSON.stringify([...statuses])}`);
  assert.ok(statuses.has('503 UNAVAILABLE'), `the outage was seen: ${JSON.stringify([...statuses])}`);

  const db = new pg.Client({ connectionString: ctx.db.url });
  await db.connect();
  try {
    for (let i = 0; i < users.length; i++) {
      const { rows } = await db.query(
        `select count(*) filter (where used_at is null and revoked_at is null) as live from refresh_tokens
          where family_id = (select family_id from refresh_tokens where user_id = $1 limit 1)`,
        [users[i]!.tokens.user.id],
      );
      assert.is(Number(rows[0].live), 1, `session ${i}: exactly one live token`);
      // The last acknowledged token still refreshes (or is the grace predecessor of the live one).
      const next = await mutation<TokenPair>(url, 'auth.refresh', { refreshToken: held[i]! });
      assert.is(next.status, 200, `session ${i}: ${JSON.stringify(next.body)}`);
    }
  } finally {
    await db.end();
  }
});

s.run();
