import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Clock } from '../../server/security/clock.js';
import { mutation } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

/**
 * Error responses as an attacker probing the API sees them: never a stack
 * trace, SQL, or driver detail, whatever is sent; input errors name the field.
 */

/** A clock that can be broken on demand: the one safe way to force an unexpected exception in a handler. */
class BreakableClock implements Clock {
  broken = false;
  now(): Date {
    return this.broken ? new Date(Number.NaN) : new Date();
  }
}

interface Ctx {
  svc: TestService;
  clock: BreakableClock;
}
const s = suite<Ctx>('api: error responses');
s.before(async (ctx) => {
  ctx.clock = new BreakableClock();
  ctx.svc = await startService({}, { clock: ctx.clock });
});
s.after(async (ctx) => {
  ctx.clock.broken = false;
  await ctx.svc.close();
});

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}
async function raw(url: string, init: RequestInit = {}): Promise<Raw> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}
const post = (url: string, body: string, contentType = 'application/json') =>
  raw(url, { method: 'POST', headers: { 'content-type': contentType }, body });

/** Nothing in a response may reveal how the server is built. */
function assertNoInternals(r: Raw, what: string) {
  const t = r.text;
  assert.not.match(t, /"stack"/, `${what}: stack key`);
  assert.not.match(t, /\n\s+at |\bat [\w.<>]+ \(|\.[cm]?[jt]s:\d+/, `${what}: stack frames`);
  assert.not.match(
    t,
    /\b(select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|returning)\b/i,
    `${what}: SQL`,
  );
  assert.not.match(
    t,
    /postgres|pg-protocol|knex|mikro-?orm|node_modules|ECONNREFUSED|syntax error|violates/i,
    `${what}: driver detail`,
  );
  assert.ok(r.body !== undefined, `${what}: a JSON body (${t.slice(0, 100)})`);
  assert.ok(r.headers.get('x-request-id'), `${what}: X-Request-ID`);
}

s('malformed JSON is a 400 INVALID_INPUT, not a parser trace', async ({ svc }) => {
  for (const body of ['{"email":', '{email: "a@b.c"}', '\u0000\u0001', '{"a":1}}']) {
    const r = await post(`${svc.url}/trpc/auth.login`, body);
    assertNoInternals(r, body);
    assert.is(r.status, 400, body);
    assert.is(r.body.error.data.appCode, 'INVALID_INPUT', body);
  }
});

s('wrong HTTP method: 405 without internals', async ({ svc }) => {
  const cases: Array<[string, RequestInit]> = [
    ['GET on a mutation', {}],
    ['PUT on a mutation', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' }],
  ];
  for (const [name, init] of cases) {
    const r = await raw(`${svc.url}/trpc/auth.login`, init);
    assertNoInternals(r, name);
    assert.is(r.status, 405, name);
    assert.is(r.body.error.data.code, 'METHOD_NOT_SUPPORTED', name);
    assert.is(r.body.error.data.appCode, 'INVALID_INPUT', name);
  }
  const q = await post(`${svc.url}/trpc/auth.me`, '{}');
  assertNoInternals(q, 'POST on a query');
  assert.is(q.status, 405);
});

s('unknown procedures and paths are 404 NOT_FOUND', async ({ svc }) => {
  for (const path of [
    '/trpc/nope.nothing',
    '/trpc/auth',
    '/trpc/auth.me.deeper',
    '/nope',
    '/trpc/',
    '/.well-known/other',
  ]) {
    const r = await raw(`${svc.url}${path}`);
    assertNoInternals(r, path);
    assert.is(r.status, 404, path);
    assert.is(r.body.error.data.appCode, 'NOT_FOUND', path);
  }
  const r = await post(`${svc.url}/trpc/admin.secret`, '{}');
  assert.is(r.status, 404);
});

s('bodies over 64 KiB get 413; just under the limit is an ordinary answer', async ({ svc }) => {
  const big = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(65 * 1024) });
  const r = await post(`${svc.url}/trpc/auth.login`, big);
  assertNoInternals(r, 'oversized');
  assert.is(r.status, 413);
  const near = await post(
    `${svc.url}/trpc/auth.register`,
    JSON.stringify({ email: uniqueEmail(), password: strongPassword(), fullName: 'x'.repeat(60 * 1024) }),
  );
  assertNoInternals(near, '60 KiB');
  assert.is(near.status, 400);
  assert.is(near.body.error.data.field, 'fullName');
});

s('input validation: INVALID_INPUT with data.field naming the offending field', async ({ svc }) => {
  const email = uniqueEmail();
  const cases: Array<[string, unknown, string | undefined]> = [
    ['auth.login', { email: 'not-an-email', password: 'whatever-password' }, 'email'],
    ['auth.login', { email, password: '' }, 'password'],
    ['auth.login', { email }, 'password'],
    ['auth.login', { email: 42, password: 'whatever-password' }, 'email'],
    ['auth.login', { email: `${'a'.repeat(250)}@example.com`, password: 'whatever-password' }, 'email'],
    ['auth.register', { email, password: strongPassword(), fullName: 'x'.repeat(201) }, 'fullName'],
    ['auth.refresh', { refreshToken: 'short' }, 'refreshToken'],
    ['auth.refresh', { refreshToken: 'has spaces and + / = signs' }, 'refreshToken'],
    ['auth.verifyEmail', { token: 'x'.repeat(600) }, 'token'],
    ['auth.resetPassword', { token: 'A'.repeat(43) }, 'newPassword'],
    ['auth.login', [1, 2], undefined],
    ['auth.login', undefined, 'email'],
  ];
  for (const [path, input, field] of cases) {
    const r = await mutation(svc.url, path, input);
    const what = `${path} ${JSON.stringify(input)?.slice(0, 60)}`;
    assert.is(r.status, 400, what);
    assert.is(r.error?.data.code, 'BAD_REQUEST', what);
    assert.is(r.error?.data.appCode, 'INVALID_INPUT', what);
    assert.is(r.error?.data.field, field, what);
    assert.is(r.headers.get('cache-control'), 'no-store', what);
    assert.not.ok('stack' in (r.error?.data ?? {}), what);
  }
});

s('control characters in text input are INVALID_INPUT, never SQL or values', async ({ svc }) => {
  // A NUL byte would reach PostgreSQL (which refuses it in text) if the
  // schema let it through; it must be refused as input instead.
  for (const [path, input] of [
    ['auth.login', { email: 'nul\u0000byte@example.com', password: 'whatever-password' }],
    ['auth.register', { email: uniqueEmail(), password: strongPassword(), fullName: 'nul\u0000byte' }],
  ] as const) {
    const res = await fetch(`${svc.url}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    const text = await res.text();
    const r: Raw = { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
    assertNoInternals(r, path);
    assert.not.ok(text.includes('nul\\u0000byte') || text.includes('scrypt'), path);
    assert.is(r.status, 400, path);
    assert.is(r.body.error.data.appCode, 'INVALID_INPUT', path);
  }
  // Nor does the log: the driver's message carries the statement and its bound values.
  const logText = svc.logs.join('\n');
  assert.not.match(logText, /insert into|select \* from|values \(|c2NyeXB0/i);
  assert.not.ok(logText.includes('nul\\u0000byte@example.com'));
});

s('an unexpected exception is a bare INTERNAL_SERVER_ERROR', async ({ svc, clock }) => {
  clock.broken = true;
  let r: Raw;
  try {
    // verifyEmail reads the clock on its answer path (requestPasswordReset no longer
    // does: its work runs after the answer).
    r = await post(`${svc.url}/trpc/auth.verifyEmail`, JSON.stringify({ token: 'A'.repeat(43) }));
  } finally {
    clock.broken = false;
  }
  assertNoInternals(r, 'internal');
  assert.is(r.status, 500);
  assert.equal(r.body.error.message, 'Internal server error');
  assert.is(r.body.error.data.code, 'INTERNAL_SERVER_ERROR');
  assert.is(r.body.error.data.appCode, 'INTERNAL');
  assert.not.match(r.text, /RangeError|Invalid time value|toISOString/);
  // The service is fine afterwards.
  const ok = await mutation(svc.url, 'auth.requestPasswordReset', { email: uniqueEmail() });
  assert.is(ok.status, 200);
});

s('error responses are never cached', async ({ svc }) => {
  const r = await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: 'whatever-password-1' });
  assert.is(r.status, 401);
  assert.is(r.headers.get('cache-control'), 'no-store');
});

s.run();
