import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../server/config/config.js';
import { createLogger } from '../../server/observability/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { mutation, query, type CallResult } from '../support/http.js';
import { eventually } from '../support/pg.js';
import { startOwnDatabase, type OwnDatabase } from '../support/own-database.js';
import { baseTestEnv } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/**
 * A database outage under a running app, on a private PostgreSQL: health
 * turns 503, calls answer UNAVAILABLE (never "logged out"), the process
 * keeps serving, and everything recovers when the database returns.
 */

interface Ctx {
  db: OwnDatabase;
  app: RunningServer;
  logs: string[];
  user: TestUser;
  /** Anything written with console.* while the outage runs (must stay empty: logs are JSON lines). */
  stray: string[];
  restoreConsole?: () => void;
}

function captureConsole(ctx: Ctx): void {
  const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  for (const k of Object.keys(saved) as Array<keyof typeof saved>) {
    console[k] = (...args: unknown[]) => void ctx.stray.push(args.map(String).join(' '));
  }
  ctx.restoreConsole = () => Object.assign(console, saved);
}
const s = suite<Ctx>('db: health during a database outage');

s.before(async (ctx) => {
  ctx.db = await startOwnDatabase();
  ctx.logs = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      ctx.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const config = loadConfig(baseTestEnv());
  ctx.app = await startServer(config, {
    databaseUrl: ctx.db.url,
    migrate: false,
    poolMax: 5,
    logger: createLogger(config.logLevel, sink),
    outbox: { pollMs: 200, firstRetrySeconds: 0.5, maxBackoffSeconds: 1 },
  });
});
s.after(async (ctx) => {
  ctx.restoreConsole?.();
  await ctx.db?.resume().catch(() => undefined);
  await ctx.app?.close();
  await ctx.db?.destroy();
});

async function health(url: string, path = '/health') {
  const res = await fetch(`${url}${path}`);
  return {
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    body: (await res.json()) as Record<string, unknown>,
  };
}
function assertUnavailable(res: CallResult, what: string) {
  assert.is(res.status, 503, `${what}: ${JSON.stringify(res.body)}`);
  assert.is(res.error?.data.code, 'SERVICE_UNAVAILABLE', what);
  assert.is(res.error?.data.appCode, 'UNAVAILABLE', what);
  assert.not.match(JSON.stringify(res.body), /ECONNREFUSED|terminat|postgres|stack|select /i, what);
}

s('with the database up, /health is 200 after a real round trip', async (ctx) => {
  const h = await health(ctx.app.url);
  assert.is(h.status, 200);
  assert.equal(h.body, { status: 'ok', checks: { database: 'ok' } });
  assert.is(h.cacheControl, 'no-store');
  assert.is((await health(ctx.app.url, '/health/ready')).status, 200);
  ctx.user = await createVerifiedUser(ctx.app.url);
});

s('with the database down: 503 health, UNAVAILABLE calls, the process keeps serving', async (ctx) => {
  ctx.stray = [];
  captureConsole(ctx);
  await ctx.db.halt();
  for (const path of ['/health', '/health/ready']) {
    const h = await health(ctx.app.url, path);
    assert.is(h.status, 503, path);
    assert.is(h.body.status, 'error', path);
    assert.equal(h.body.checks, { database: 'error' }, path);
    assert.is(h.cacheControl, 'no-store', path);
  }
  assertUnavailable(
    await mutation(ctx.app.url, 'auth.login', { email: ctx.user.email, password: ctx.user.password }),
    'login',
  );
  // A database outage must not look like a logout to clients.
  assertUnavailable(await query(ctx.app.url, 'auth.me', undefined, { token: ctx.user.tokens.accessToken }), 'me');
  assertUnavailable(
    await mutation(ctx.app.url, 'auth.refresh', { refreshToken: ctx.user.tokens.refreshToken }),
    'refresh',
  );
  assertUnavailable(
    await mutation(ctx.app.url, 'auth.register', { email: 'down@example.com', password: ctx.user.password }),
    'register',
  );
  // Alive, and the parts that need no database still work.
  const live = await health(ctx.app.url, '/health/live');
  assert.is(live.status, 200);
  assert.is(live.cacheControl, 'no-store');
  assert.is((await fetch(`${ctx.app.url}/.well-known/paseto-keys`)).status, 200);
  assert.ok(
    ctx.logs.some((l) => l.includes('database unavailable')),
    'outage logged',
  );
  assert.not.ok(ctx.logs.some((l) => l.includes(ctx.user.password) || l.includes(ctx.user.tokens.refreshToken)));
});

s('when the database returns on the same port, health and logins recover', async (ctx) => {
  await ctx.db.resume();
  await eventually('/health 200', async () => (await health(ctx.app.url)).status === 200, 20_000);
  const login = await mutation(ctx.app.url, 'auth.login', { email: ctx.user.email, password: ctx.user.password });
  assert.is(login.status, 200, JSON.stringify(login.body));
  assert.is((await query(ctx.app.url, 'auth.me', undefined, { token: login.data.accessToken })).status, 200);
  // Sessions from before the outage survived it.
  assert.is((await mutation(ctx.app.url, 'auth.refresh', { refreshToken: ctx.user.tokens.refreshToken })).status, 200);
  ctx.restoreConsole?.();
  assert.equal(ctx.stray, [], 'nothing but JSON log lines during the outage');
});

s.run();
