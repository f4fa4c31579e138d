import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AppCode,
  createAuthClient,
  createSession,
  isAuthError,
  type SessionEndReason,
  type TokenPair,
} from '../../client/src/index.js';
import { ManualClock } from '../support/clock.js';
import { mutation, query } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';
import { countingFetch, rejection } from './helpers.js';

// The service runs on a clock the suite moves forward, so access tokens
// expire for real (past the 60 s skew) without sleeping.
const s = suite<{ svc: TestService; clock: ManualClock }>('client: createSession');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService({}, { clock: ctx.clock });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

function recorder() {
  const changes: Array<TokenPair | null> = [];
  const ends: SessionEndReason[] = [];
  return {
    changes,
    ends,
    onChange: (p: TokenPair | null) => changes.push(p),
    onEnd: (r: SessionEndReason) => ends.push(r),
  };
}

s(
  'concurrent calls with an expired access token share exactly one refresh, and all succeed',
  async ({ svc, clock }) => {
    const user = await createVerifiedUser(svc.url);
    const net = countingFetch();
    const rec = recorder();
    const session = createSession({ url: svc.url, fetch: net.fetch, tokens: user.tokens, ...rec });

    clock.advance(user.tokens.expiresIn + 120);
    const direct = await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken });
    assert.is(direct.error?.data.appCode, 'UNAUTHENTICATED', 'the service itself refuses the old access token');

    // One batch sent at once, and a second wave in a later request.
    const wave1 = Array.from({ length: 10 }, () => session.client.auth.me.query());
    await new Promise((r) => setTimeout(r, 0));
    const wave2 = Array.from({ length: 10 }, () => session.client.sessions.list.query());
    const [mes, lists] = await Promise.all([Promise.all(wave1), Promise.all(wave2)]);

    assert.ok(mes.every((me) => me.email === user.email));
    assert.ok(lists.every((l) => l.some((x) => x.current)));
    assert.is(net.ops('auth.refresh'), 1, 'exactly one refresh request');
    assert.is(rec.changes.length, 1, 'onChange once, with the new pair');
    assert.is(rec.changes[0]?.accessToken, session.tokens()?.accessToken);
    assert.is.not(session.tokens()?.refreshToken, user.tokens.refreshToken);
    assert.equal(rec.ends, []);
  },
);

s('a session revoked elsewhere ends once (invalid_refresh_token) with no retry loop', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const elsewhere = await mutation<TokenPair>(svc.url, 'auth.login', { email: user.email, password: user.password });
  const net = countingFetch();
  const rec = recorder();
  const session = createSession({ url: svc.url, fetch: net.fetch, tokens: user.tokens, ...rec });
  assert.is((await session.client.auth.me.query()).email, user.email);

  const revoked = await mutation(svc.url, 'sessions.revokeAll', {}, { token: elsewhere.data.accessToken });
  assert.is(revoked.data.revoked, 2);

  const results = await Promise.allSettled(Array.from({ length: 5 }, () => session.client.auth.me.query()));
  for (const r of results) {
    assert.is(r.status, 'rejected');
    assert.ok(isAuthError((r as PromiseRejectedResult).reason, AppCode.UNAUTHENTICATED));
  }
  assert.is(net.ops('auth.refresh'), 1);
  assert.equal(rec.ends, ['invalid_refresh_token']);
  assert.equal(rec.changes, [null]);
  assert.is(session.tokens(), null);

  // After the end a call goes out once, without a token, and fails: no refresh, no loop.
  const sent = net.urls.length;
  const err = await rejection(session.client.auth.me.query());
  assert.ok(isAuthError(err, 'UNAUTHENTICATED'));
  assert.is(net.urls.length, sent + 1);
  assert.is(net.ops('auth.refresh'), 1);
  assert.equal(rec.ends, ['invalid_refresh_token']);
});

s('a refresh token reused after its grace window ends the session as refresh_token_reused', async ({ svc, clock }) => {
  const user = await createVerifiedUser(svc.url);
  // Someone else (a thief, or a stale copy) rotates the refresh token first.
  const stolen = await mutation(svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
  assert.is(stolen.status, 200);
  clock.advance(user.tokens.expiresIn + 120);

  const net = countingFetch();
  const rec = recorder();
  const session = createSession({ url: svc.url, fetch: net.fetch, tokens: user.tokens, ...rec });
  const err = await rejection(session.client.auth.me.query());
  assert.ok(isAuthError(err, 'UNAUTHENTICATED'));
  assert.equal(rec.ends, ['refresh_token_reused']);
  assert.is(net.ops('auth.refresh'), 1);
  assert.is(net.ops('auth.me'), 1, 'not retried');
});

s('login, calls and logout through a client from createAuthClient', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const client = createAuthClient({ url: `${svc.url}/` });
  const rec = recorder();
  const session = createSession({ client, ...rec });
  assert.is(session.client, client);
  assert.is(session.tokens(), null);

  const result = await session.login({ email: user.email, password: user.password });
  assert.is(result.status, 'signed_in');
  const pair = session.tokens()!;
  assert.is(pair.tokenType, 'Bearer');
  assert.is(session.tokens()?.accessToken, pair.accessToken);
  assert.is((await client.auth.me.query()).id, pair.user.id);

  await session.logout();
  assert.equal(rec.ends, ['logout']);
  assert.is(rec.changes.length, 2);
  assert.is(rec.changes[1], null);
  assert.is(session.tokens(), null);
  const dead = await mutation(svc.url, 'auth.refresh', { refreshToken: pair.refreshToken });
  assert.is(dead.error?.data.appCode, 'INVALID_REFRESH_TOKEN', 'logout ended the session on the service');
  await session.logout(); // idempotent, no second onEnd
  assert.equal(rec.ends, ['logout']);

  assert.throws(() => createSession({ client }), /already belongs to a session/);
});

s('a password change made through the session keeps the session on the new pair', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const rec = recorder();
  const session = createSession({ url: svc.url, tokens: user.tokens, ...rec });
  const pair = await session.client.auth.changePassword.mutate({
    currentPassword: user.password,
    newPassword: strongPassword(),
  });
  assert.is(session.tokens()?.accessToken, pair.accessToken);
  assert.is(rec.changes.length, 1);
  assert.is((await session.client.auth.me.query()).email, user.email);
  assert.equal(rec.ends, []);
});

s('setTokens resumes a pair stored elsewhere (another tab) and clears without onEnd', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const rec = recorder();
  const session = createSession({ url: svc.url, ...rec });
  const anonymous = await rejection(session.client.auth.me.query());
  assert.ok(isAuthError(anonymous, 'UNAUTHENTICATED'));
  session.setTokens(user.tokens);
  assert.is((await session.client.auth.me.query()).email, user.email);
  session.setTokens(null);
  assert.equal(rec.changes, [user.tokens, null]);
  assert.equal(rec.ends, []);
});

s('isAuthError tells the service’s errors apart from others', async ({ svc }) => {
  const client = createAuthClient({ url: svc.url });
  const err = await rejection(client.auth.login.mutate({ email: uniqueEmail(), password: strongPassword() }));
  assert.ok(isAuthError(err));
  assert.ok(isAuthError(err, 'INVALID_CREDENTIALS'));
  assert.not.ok(isAuthError(err, 'UNAUTHENTICATED'));
  if (isAuthError(err)) assert.is(err.data.httpStatus, 401);

  const invalid = await rejection(client.auth.register.mutate({ email: 'not-an-email', password: 'x' }));
  assert.ok(isAuthError(invalid, AppCode.INVALID_INPUT));

  assert.not.ok(isAuthError(new Error('boom')));
  assert.not.ok(isAuthError({ data: { appCode: 'UNAUTHENTICATED' } }), 'a look-alike object is not a service error');
  const offline = await rejection(createAuthClient({ url: 'http://127.0.0.1:9' }).health.query());
  assert.not.ok(isAuthError(offline), 'a network failure is not an auth error');
});

s('headers and fetch options reach every request', async ({ svc }) => {
  const seen: Array<Record<string, string>> = [];
  const client = createAuthClient({
    url: svc.url,
    headers: async () => ({ 'x-request-id': 'client-test-1' }),
    fetch: (input, init) => {
      const h: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => (h[k] = v));
      seen.push(h);
      return fetch(input, init);
    },
  });
  const health = await client.health.query();
  assert.is(health.status, 'ok');
  assert.is(seen.length, 1);
  assert.is(seen[0]?.['x-request-id'], 'client-test-1');
  assert.is(seen[0]?.authorization, undefined);
});

s.run();
