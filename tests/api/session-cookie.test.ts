import * as assert from 'uvu/assert';
import { accountSuite, expectError, verifiedAccount } from '../support/accounts.js';
import { mutation, query, type CallResult } from '../support/http.js';
import { startService } from '../support/service.js';
import { strongPassword } from '../support/users.js';

const OWN_ORIGIN = 'http://auth.test.local'; // PUBLIC_URL of the test services
const APP_ORIGIN = 'https://app.example.com';
const COOKIE = '__Host-secure-auth-session';

// No grace: a second use of a rotated cookie value is reuse at once.
const s = accountSuite('api: browser sessions in the session cookie', {
  CORS_ORIGINS: APP_ORIGIN,
  REFRESH_REUSE_GRACE_SECONDS: '0',
});

interface CookieCall extends CallResult<any> {
  setCookies: string[];
  /** The session cookie's new value ('' when cleared), or undefined when not set. */
  cookie: string | undefined;
}

async function call(
  url: string,
  path: string,
  input: unknown,
  opts: { origin?: string | null; cookie?: string; token?: string } = {},
): Promise<CookieCall> {
  const origin = opts.origin === undefined ? OWN_ORIGIN : opts.origin;
  const res = await mutation(url, path, input, {
    token: opts.token,
    headers: {
      ...(origin === null ? {} : { origin }),
      ...(opts.cookie === undefined ? {} : { cookie: `other=1; ${COOKIE}=${opts.cookie}` }),
    },
  });
  const setCookies = res.headers.getSetCookie();
  const ours = setCookies.find((c) => c.startsWith(`${COOKIE}=`));
  return { ...res, setCookies, cookie: ours === undefined ? undefined : ours.slice(COOKIE.length + 1).split(';')[0] };
}

async function cookieLogin(url: string, email: string, password: string): Promise<CookieCall & { value: string }> {
  const res = await call(url, 'auth.login', { email, password, cookie: true });
  assert.is(res.status, 200, JSON.stringify(res.body));
  assert.ok(res.cookie, 'a session cookie');
  return { ...res, value: res.cookie! };
}

function cleared(res: CookieCall): boolean {
  const header = res.setCookies.find((c) => c.startsWith(`${COOKIE}=`)) ?? '';
  return res.cookie === '' && /Expires=Thu, 01 Jan 1970/.test(header);
}

s(
  'login with cookie: true sets __Host- httpOnly Secure SameSite=Strict Path=/ without Domain, and no refreshToken in the body',
  async ({ svc }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const res = await cookieLogin(svc.url, email, password);
    assert.type(res.data.accessToken, 'string');
    assert.is(res.data.refreshToken, undefined, 'the refresh token is only in the cookie');
    assert.not.match(JSON.stringify(res.body), res.value);
    assert.match(res.value, /^[A-Za-z0-9_-]{43,}$/);
    const header = res.setCookies.find((c) => c.startsWith(`${COOKIE}=`))!;
    const attrs = header
      .split(';')
      .slice(1)
      .map((a) => a.trim());
    assert.ok(attrs.includes('HttpOnly'), header);
    assert.ok(attrs.includes('Secure'), header);
    assert.ok(attrs.includes('SameSite=Strict'), header);
    assert.ok(attrs.includes('Path=/'), header);
    assert.not.ok(
      attrs.some((a) => /^domain=/i.test(a)),
      header,
    );
    const maxAge = Number(/^Max-Age=(\d+)$/.exec(attrs.find((a) => a.startsWith('Max-Age=')) ?? '')?.[1]);
    assert.ok(Math.abs(maxAge - res.data.refreshExpiresIn) <= 1, `Max-Age ${maxAge} vs ${res.data.refreshExpiresIn}`);

    const me = await query(svc.url, 'auth.me', undefined, { token: res.data.accessToken });
    assert.is(me.data.email, email);
    const plain = await call(svc.url, 'auth.login', { email, password });
    assert.type(plain.data.refreshToken, 'string', 'without the flag the body keeps the refresh token');
    assert.is(plain.cookie, undefined);
  },
);

s(
  'refresh through the cookie rotates it; the new access token works; an old value is reuse and ends the session',
  async ({ svc }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const first = await cookieLogin(svc.url, email, password);

    const second = await call(svc.url, 'auth.refresh', {}, { cookie: first.value });
    assert.is(second.status, 200, JSON.stringify(second.body));
    assert.ok(second.cookie && second.cookie !== first.value, 'a new cookie value');
    assert.is(second.data.refreshToken, undefined);
    assert.is((await query(svc.url, 'auth.me', undefined, { token: second.data.accessToken })).status, 200);

    // No input at all works too (the client's cookie mode sends {} or nothing).
    const third = await call(svc.url, 'auth.refresh', undefined, { cookie: second.cookie, origin: APP_ORIGIN });
    assert.is(third.status, 200, JSON.stringify(third.body));
    assert.ok(third.cookie && third.cookie !== second.cookie);

    // A stolen copy of an older value, replayed.
    const replay = await call(svc.url, 'auth.refresh', {}, { cookie: first.value });
    expectError(replay, 'UNAUTHORIZED', 'REFRESH_TOKEN_REUSED');
    assert.ok(cleared(replay), 'the dead cookie is cleared');
    const owner = await call(svc.url, 'auth.refresh', {}, { cookie: third.cookie });
    expectError(owner, 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN');
    assert.ok(cleared(owner));
    expectError(
      await query(svc.url, 'auth.me', undefined, { token: third.data.accessToken }),
      'UNAUTHORIZED',
      'UNAUTHENTICATED',
    );
  },
);

s('logout through the cookie ends the session and clears the cookie', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const login = await cookieLogin(svc.url, email, password);
  const out = await call(svc.url, 'auth.logout', {}, { cookie: login.value });
  assert.is(out.status, 200, JSON.stringify(out.body));
  assert.equal(out.data, { ok: true });
  assert.ok(cleared(out));
  expectError(
    await query(svc.url, 'auth.me', undefined, { token: login.data.accessToken }),
    'UNAUTHORIZED',
    'UNAUTHENTICATED',
  );
  expectError(
    await call(svc.url, 'auth.refresh', {}, { cookie: login.value }),
    'UNAUTHORIZED',
    'INVALID_REFRESH_TOKEN',
  );
  // Idempotent, also without any cookie.
  const again = await call(svc.url, 'auth.logout', undefined);
  assert.is(again.status, 200);
  assert.ok(cleared(again));
});

s('CSRF: a cookie call with a foreign or missing Origin is FORBIDDEN and changes nothing', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const login = await cookieLogin(svc.url, email, password);
  for (const origin of ['https://evil.example', 'null', null, 'http://auth.test.local:8080']) {
    for (const path of ['auth.refresh', 'auth.logout']) {
      const res = await call(svc.url, path, {}, { cookie: login.value, origin });
      expectError(res, 'FORBIDDEN', 'FORBIDDEN');
      assert.is(res.status, 403);
      assert.is(res.cookie, undefined, 'the cookie is left alone');
    }
    const forged = await call(svc.url, 'auth.login', { email, password, cookie: true }, { origin });
    expectError(forged, 'FORBIDDEN', 'FORBIDDEN');
    assert.is(forged.cookie, undefined);
  }
  // The session survived every forged call.
  const ok = await call(svc.url, 'auth.refresh', {}, { cookie: login.value });
  assert.is(ok.status, 200, JSON.stringify(ok.body));
  const sessions = await query(svc.url, 'sessions.list', undefined, { token: ok.data.accessToken });
  assert.is(sessions.data.length, 1, 'no session was made by a forged login');
});

s(
  'without a cookie, refresh is INVALID_REFRESH_TOKEN; a refresh token in the body needs no Origin',
  async ({ svc }) => {
    expectError(await call(svc.url, 'auth.refresh', {}), 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN');
    const { email, password } = await verifiedAccount(svc.url);
    const plain = await call(svc.url, 'auth.login', { email, password }, { origin: null });
    const next = await call(svc.url, 'auth.refresh', { refreshToken: plain.data.refreshToken }, { origin: null });
    assert.is(next.status, 200);
    assert.type(next.data.refreshToken, 'string');
    assert.is(next.cookie, undefined);
  },
);

s('changePassword with cookie: true moves the new session into the cookie', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const login = await cookieLogin(svc.url, email, password);
  const changed = await call(
    svc.url,
    'auth.changePassword',
    { currentPassword: password, newPassword: strongPassword(), cookie: true },
    { token: login.data.accessToken },
  );
  assert.is(changed.status, 200, JSON.stringify(changed.body));
  assert.is(changed.data.refreshToken, undefined);
  assert.ok(changed.cookie && changed.cookie !== login.value);
  assert.is((await call(svc.url, 'auth.refresh', {}, { cookie: changed.cookie })).status, 200);
});

s('CORS preflight: credentials for CORS_ORIGINS only', async ({ svc }) => {
  const preflight = async (origin: string) => {
    const res = await fetch(`${svc.url}/trpc/auth.refresh`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    await res.arrayBuffer();
    return res.headers;
  };
  const app = await preflight(APP_ORIGIN);
  assert.is(app.get('access-control-allow-origin'), APP_ORIGIN);
  assert.is(app.get('access-control-allow-credentials'), 'true');
  assert.match(app.get('vary') ?? '', /origin/i);
  const evil = await preflight('https://evil.example');
  assert.is(evil.get('access-control-allow-origin'), null);
  assert.is(evil.get('access-control-allow-credentials'), null);
});

s('SESSION_COOKIE=false: no cookie is set or read, and CORS sends no credentials', async () => {
  const svc = await startService({ SESSION_COOKIE: 'false', CORS_ORIGINS: APP_ORIGIN });
  try {
    const { email, password } = await verifiedAccount(svc.url);
    const login = await call(svc.url, 'auth.login', { email, password, cookie: true });
    assert.is(expectError(login, 'BAD_REQUEST', 'INVALID_INPUT').data.field, 'cookie');
    assert.is(login.cookie, undefined);
    const plain = await call(svc.url, 'auth.login', { email, password });
    expectError(
      await call(svc.url, 'auth.refresh', {}, { cookie: plain.data.refreshToken }),
      'BAD_REQUEST',
      'INVALID_INPUT',
    );
    const res = await fetch(`${svc.url}/trpc/auth.refresh`, {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' },
    });
    await res.arrayBuffer();
    assert.is(res.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.is(res.headers.get('access-control-allow-credentials'), null);
  } finally {
    await svc.close();
  }
});

s.run();
