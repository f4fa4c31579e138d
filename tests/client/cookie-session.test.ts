import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AppCode,
  createSession,
  isAuthError,
  type FetchLike,
  type LoginResult,
  type SessionEndReason,
} from '../../client/src/index.js';
import type { BrowserTokenPair } from '../../shared/dto.js';
import { ManualClock } from '../support/clock.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, strongPassword } from '../support/users.js';
import { rejection } from './helpers.js';

const COOKIE = '__Host-secure-auth-session';
const ORIGIN = 'http://auth.test.local'; // PUBLIC_URL of the test service

/**
 * What a browser does for a page on the service's origin, which Node's
 * fetch does not: keep the cookie jar, send the Origin header. It also
 * records what the page's code could see (response bodies) and the
 * credentials mode it asked for.
 */
function browserFetch() {
  const jar = { value: undefined as string | undefined };
  const bodies: string[] = [];
  const credentials: Array<RequestCredentials | undefined> = [];
  const f: FetchLike = async (input, init = {}) => {
    credentials.push(init.credentials);
    const headers = new Headers(init.headers);
    headers.set('origin', ORIGIN);
    if (jar.value) headers.set('cookie', `${COOKIE}=${jar.value}`);
    const res = await fetch(input, { ...init, headers });
    for (const c of res.headers.getSetCookie()) {
      if (c.startsWith(`${COOKIE}=`)) jar.value = c.slice(COOKIE.length + 1).split(';')[0] || undefined;
    }
    const text = await res.text();
    bodies.push(text);
    return new Response(text, { status: res.status, headers: res.headers });
  };
  return { fetch: f, jar, bodies, credentials };
}

/** The pair of a login that needed no second factor. */
async function signedIn(result: Promise<LoginResult<BrowserTokenPair>>): Promise<BrowserTokenPair> {
  const r = await result;
  if (r.status !== 'signed_in') throw new Error(`expected signed_in, got ${r.status}`);
  return r.tokens;
}

const s = suite<{ svc: TestService; clock: ManualClock }>('client: createSession({ cookie: true })');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService({}, { clock: ctx.clock });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

function recorder() {
  const changes: Array<BrowserTokenPair | null> = [];
  const ends: SessionEndReason[] = [];
  return {
    changes,
    ends,
    onChange: (p: BrowserTokenPair | null) => changes.push(p),
    onEnd: (r: SessionEndReason) => ends.push(r),
  };
}

s(
  'the app never sees a refresh token: login keeps only the access token, the cookie holds the rest',
  async ({ svc }) => {
    const user = await createVerifiedUser(svc.url);
    const net = browserFetch();
    const rec = recorder();
    const session = createSession({ url: svc.url, cookie: true, fetch: net.fetch, ...rec });
    const pair = await signedIn(session.login({ email: user.email, password: user.password }));
    assert.type(pair.accessToken, 'string');
    assert.is(pair.refreshToken, undefined);
    assert.is(session.tokens()?.refreshToken, undefined);
    assert.ok(net.jar.value, 'the service set the cookie');
    assert.ok(
      net.bodies.every((b) => !b.includes(net.jar.value!)),
      'no response body carries the refresh token',
    );
    assert.ok(
      net.credentials.every((c) => c === 'include'),
      'every request is made with credentials: include',
    );
    assert.is((await session.client.auth.me.query()).email, user.email);
    assert.is(rec.changes.length, 1);
  },
);

s(
  'an expired access token is refreshed through the cookie, once for concurrent calls, rotating the cookie',
  async ({ svc, clock }) => {
    const user = await createVerifiedUser(svc.url);
    const net = browserFetch();
    const session = createSession({ url: svc.url, cookie: true, fetch: net.fetch });
    const first = await signedIn(session.login({ email: user.email, password: user.password }));
    const cookieBefore = net.jar.value;
    clock.advance(first.expiresIn + 120);
    const mes = await Promise.all(Array.from({ length: 5 }, () => session.client.auth.me.query()));
    assert.ok(mes.every((me) => me.email === user.email));
    assert.is.not(session.tokens()?.accessToken, first.accessToken);
    assert.ok(net.jar.value && net.jar.value !== cookieBefore, 'the cookie was rotated');
    const refreshes = net.bodies.filter((b) => b.includes('"tokenType":"Bearer"')).length;
    assert.is(refreshes, 2, 'one login, one refresh');
  },
);

s('after a page load, refresh() resumes the session the cookie holds', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const net = browserFetch();
  await signedIn(
    createSession({ url: svc.url, cookie: true, fetch: net.fetch }).login({
      email: user.email,
      password: user.password,
    }),
  );

  // A new page: a new session object, the same cookie jar.
  const reloaded = createSession({ url: svc.url, cookie: true, fetch: net.fetch });
  assert.is(reloaded.tokens(), null);
  const pair = await reloaded.refresh();
  assert.is(pair.user.email, user.email);
  assert.is((await reloaded.client.sessions.list.query()).filter((x) => x.current).length, 1);

  const stranger = createSession({ url: svc.url, cookie: true, fetch: browserFetch().fetch });
  assert.ok(isAuthError(await rejection(stranger.refresh()), AppCode.INVALID_REFRESH_TOKEN), 'no cookie, no session');
});

s('logout ends the session on the service, clears the cookie, and calls onEnd once', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const net = browserFetch();
  const rec = recorder();
  const session = createSession({ url: svc.url, cookie: true, fetch: net.fetch, ...rec });
  const pair = await signedIn(session.login({ email: user.email, password: user.password }));
  await session.logout();
  assert.is(net.jar.value, undefined, 'cookie cleared');
  assert.is(session.tokens(), null);
  assert.equal(rec.ends, ['logout']);
  const stale = createSession({ url: svc.url, cookie: true, fetch: net.fetch, tokens: pair });
  assert.ok(isAuthError(await rejection(stale.client.auth.me.query()), AppCode.UNAUTHENTICATED));
});

s('a password change through the session moves the new session into the cookie', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const net = browserFetch();
  const session = createSession({ url: svc.url, cookie: true, fetch: net.fetch });
  await signedIn(session.login({ email: user.email, password: user.password }));
  const before = net.jar.value;
  const changed = await session.client.auth.changePassword.mutate({
    currentPassword: user.password,
    newPassword: strongPassword(),
  });
  assert.is(changed.refreshToken, undefined);
  assert.ok(net.jar.value && net.jar.value !== before);
  assert.is(session.tokens()?.accessToken, changed.accessToken);
  assert.is((await session.refresh()).user.email, user.email, 'the cookie holds the new session');
});

s.run();
