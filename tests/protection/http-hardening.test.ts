import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { securityHeaders } from '../../server/http/security-headers.js';
import { mutation, query } from '../support/http.js';
import { rememberSecret } from '../support/secrets.js';
import { startService, type TestService } from '../support/service.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

/**
 * The HTTP surface every response shares: request ids, one request log line
 * per request, security headers, the body limit, CORS, and error bodies that
 * never carry internals.
 */

const ALLOWED_ORIGIN = 'https://app.example.com';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const s = suite<{ svc: TestService }>('http hardening');
s.before(async (ctx) => {
  ctx.svc = await startService({ CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://admin.example.com` });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

function requestLines(svc: TestService, requestId: string): Array<Record<string, unknown>> {
  return svc.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'request' && l.request_id === requestId);
}

/** The request log line is written when the response finishes: wait for it, briefly. */
async function requestLine(svc: TestService, requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const lines = requestLines(svc, requestId);
    if (lines.length) return lines[0]!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request log line for ${requestId}`);
}

s('X-Request-ID: a valid caller id is kept, an invalid one replaced, a missing one created', async ({ svc }) => {
  const cases: Array<[string | undefined, boolean]> = [
    ['req-123.abc_DEF', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['has spaces', false],
    ['bad\\id', false],
    ['{"inject":1}', false],
    ['', false],
    [undefined, false],
  ];
  for (const [sent, kept] of cases) {
    const res = await fetch(`${svc.url}/health/live`, { headers: sent === undefined ? {} : { 'x-request-id': sent } });
    await res.arrayBuffer();
    const got = res.headers.get('x-request-id');
    if (kept) assert.is(got, sent, `kept: ${sent}`);
    else assert.match(got ?? '', UUID, `replaced: ${sent}`);
  }
});

s('X-Request-ID is on every kind of response: tRPC success and error, 404, 413', async ({ svc }) => {
  const ok = await query(svc.url, 'health', undefined, { headers: { 'x-request-id': 'trace-me-1' } });
  assert.is(ok.headers.get('x-request-id'), 'trace-me-1');
  const err = await query(svc.url, 'auth.me', undefined, { headers: { 'x-request-id': 'trace-me-2' } });
  assert.is(err.status, 401);
  assert.is(err.headers.get('x-request-id'), 'trace-me-2');
  const missing = await fetch(`${svc.url}/nothing-here`, { headers: { 'x-request-id': 'trace-me-3' } });
  assert.is(missing.status, 404);
  assert.is(missing.headers.get('x-request-id'), 'trace-me-3');
  await missing.arrayBuffer();
  const big = await mutation(
    svc.url,
    'auth.login',
    { email: 'a@example.com', password: 'x'.repeat(70 * 1024) },
    { headers: { 'x-request-id': 'trace-me-4' } },
  );
  assert.is(big.status, 413);
  assert.is(big.headers.get('x-request-id'), 'trace-me-4');
});

s('one JSON request log line per request, with no query string and no token', async ({ svc }) => {
  const token = randomBytes(32).toString('base64url');
  rememberSecret(token);
  const id = `log-${randomBytes(4).toString('hex')}`;
  const res = await query(
    svc.url,
    'auth.me',
    { token },
    { token: `v4.public.${token}`, headers: { 'x-request-id': id } },
  );
  assert.is(res.status, 401);
  const line = await requestLine(svc, id);
  assert.is(requestLines(svc, id).length, 1, 'exactly one line');
  assert.is(line.method, 'GET');
  assert.is(line.path, '/trpc/auth.me');
  assert.is(line.status, 401);
  assert.type(line.duration_ms, 'number');
  assert.ok((line.duration_ms as number) >= 0);
  assert.match(String(line.time ?? ''), /Z$/);
  const raw = svc.logs.find((l) => l.includes(`"request_id":"${id}"`) && l.includes('"msg":"request"'))!;
  assert.not.ok(raw.includes('?'), 'no query string');
  assert.not.ok(raw.includes(token), 'no token');
  assert.not.ok(raw.toLowerCase().includes('authorization'), 'no header');

  const postId = `log-${randomBytes(4).toString('hex')}`;
  const password = strongPassword();
  rememberSecret(password);
  await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password }, { headers: { 'x-request-id': postId } });
  const post = await requestLine(svc, postId);
  assert.is(post.method, 'POST');
  assert.is(post.path, '/trpc/auth.login');
  assert.is(post.status, 401);
  assert.not.ok(
    svc.logs.some((l) => l.includes(password)),
    'no password',
  );
});

s('security headers: strict CSP, no framing, nosniff, no X-Powered-By, no HSTS outside production', async ({ svc }) => {
  for (const path of ['/health', '/metrics', '/.well-known/paseto-keys', '/trpc/health', '/nothing-here']) {
    const res = await fetch(svc.url + path);
    await res.arrayBuffer();
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.ok(
      csp
        .split(';')
        .map((d) => d.trim())
        .includes("default-src 'none'"),
      `${path}: CSP default-src 'none' (${csp})`,
    );
    assert.ok(csp.includes("frame-ancestors 'none'"), `${path}: frame-ancestors`);
    assert.is(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.is(res.headers.get('x-frame-options'), 'DENY', path);
    assert.is(res.headers.get('referrer-policy'), 'no-referrer', path);
    assert.is(res.headers.get('x-powered-by'), null, path);
    assert.is(res.headers.get('strict-transport-security'), null, `${path}: no HSTS outside production`);
  }
});

s('HSTS is sent in production (securityHeaders(isProduction=true))', async () => {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders(true));
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.arrayBuffer();
    const hsts = res.headers.get('strict-transport-security') ?? '';
    assert.match(hsts, /max-age=31536000/);
    assert.match(hsts, /includeSubDomains/);
    assert.ok((res.headers.get('content-security-policy') ?? '').includes("default-src 'none'"));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

s('request bodies over 64 KiB get 413 with a small JSON error; 64 KiB and under are read', async ({ svc }) => {
  const over = await fetch(`${svc.url}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'a@example.com', password: 'p'.repeat(64 * 1024) }),
  });
  assert.is(over.status, 413);
  const body = await over.json();
  assert.is(body.error.data.httpStatus, 413);
  assert.not.ok(JSON.stringify(body).includes('stack'));
  // Exactly 64 KiB: read and handled by the procedure (which refuses the
  // login on its own terms, whatever they are), not by the body limit.
  const padding = 64 * 1024 - JSON.stringify({ email: 'a@example.com', password: '' }).length;
  const body64 = JSON.stringify({ email: 'a@example.com', password: 'p'.repeat(padding) });
  assert.is(Buffer.byteLength(body64), 64 * 1024);
  const under = await fetch(`${svc.url}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body64,
  });
  const answer = await under.json();
  assert.ok(under.status >= 400 && under.status < 500 && under.status !== 413, `status ${under.status}`);
  assert.is(answer.error.data.path, 'auth.login', 'the procedure saw the call');
});

s('CORS: only the configured origins are allowed', async ({ svc }) => {
  const preflight = (origin: string) =>
    fetch(`${svc.url}/trpc/auth.login`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });
  const allowed = await preflight(ALLOWED_ORIGIN);
  await allowed.arrayBuffer();
  assert.ok(allowed.status === 204 || allowed.status === 200);
  assert.is(allowed.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/i);
  // Credentials (the session cookie) for the configured origins only; see tests/api/session-cookie.test.ts.
  assert.is(allowed.headers.get('access-control-allow-credentials'), 'true');

  const other = await preflight('https://evil.example.net');
  await other.arrayBuffer();
  assert.is(other.headers.get('access-control-allow-origin'), null);
  assert.is(other.headers.get('access-control-allow-credentials'), null);

  const simple = await fetch(`${svc.url}/trpc/health`, { headers: { origin: ALLOWED_ORIGIN } });
  await simple.arrayBuffer();
  assert.is(simple.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  assert.match(simple.headers.get('access-control-expose-headers') ?? '', /X-Request-ID/i);
  assert.match(simple.headers.get('access-control-expose-headers') ?? '', /Retry-After/i);

  const plain = await startService();
  try {
    const res = await fetch(`${plain.url}/trpc/health`, { headers: { origin: ALLOWED_ORIGIN } });
    await res.arrayBuffer();
    assert.is(res.headers.get('access-control-allow-origin'), null, 'no CORS_ORIGINS: no origin allowed');
  } finally {
    await plain.close();
  }
});

s('errors never leak internals: malformed JSON, unknown procedure, bad input, wrong method', async ({ svc }) => {
  const calls: Array<[string, RequestInit, number]> = [
    [
      '/trpc/auth.login',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": "a@b.c", "password": ' },
      400,
    ],
    ['/trpc/auth.nothing', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 404],
    [
      '/trpc/auth.login',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": 42, "password": []}' },
      400,
    ],
    ['/trpc/auth.login', { method: 'GET' }, 405],
    ['/trpc/auth.me', { method: 'GET', headers: { authorization: 'Bearer v4.local.not-a-real-token' } }, 401],
  ];
  for (const [path, init, status] of calls) {
    const res = await fetch(svc.url + path, init);
    const text = await res.text();
    assert.is(res.status, status, `${init.method} ${path}: ${text}`);
    const body = JSON.parse(text);
    assert.type(body.error.data.appCode, 'string', `${path}: a stable appCode`);
    assert.is(body.error.data.stack, undefined);
    assert.not.match(
      text,
      /\bat .*\(|node_modules|\/work\/|\.ts:\d|select |insert |TypeError|ZodError|SyntaxError/i,
      `${path}: ${text}`,
    );
  }
});

s.run();
