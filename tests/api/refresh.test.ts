import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../support/clock.js';
import { Keyring } from '../../server/security/keyring.js';
import { RefreshTokenCodec } from '../../server/security/opaque-token.js';
import type { TokenPair } from '../../shared/dto.js';
import { mutation, query, type CallResult } from '../support/http.js';
import { dbRow, dbRows } from '../support/pg.js';
import { baseTestEnv, startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/**
 * Refresh-token rotation as clients see it: one live token per session,
 * concurrent refreshes converge on one successor, reuse after the grace
 * window burns the whole session, and only digests are stored.
 */

interface Ctx {
  svc: TestService;
  services: TestService[];
}
const s = suite<Ctx>('api: refresh tokens');

s.before(async (ctx) => {
  ctx.svc = await startService();
  ctx.services = [ctx.svc];
});
s.after(async (ctx) => {
  await Promise.all(ctx.services.map((x) => x.close()));
});

async function service(ctx: Ctx, env: Record<string, string>, clock?: ManualClock): Promise<TestService> {
  const svc = await startService(env, clock ? { clock } : {});
  ctx.services.push(svc);
  return svc;
}

const refresh = (svc: TestService, refreshToken: string) =>
  mutation<TokenPair>(svc.url, 'auth.refresh', { refreshToken });
const login = (svc: TestService, user: TestUser) =>
  mutation<TokenPair>(svc.url, 'auth.login', { email: user.email, password: user.password });
const me = (svc: TestService, token: string) => query(svc.url, 'auth.me', undefined, { token });
const sidOf = (accessToken: string): string => {
  const body = Buffer.from(accessToken.split('.')[2]!, 'base64url');
  return (JSON.parse(body.subarray(0, body.length - 64).toString('utf8')) as { sid: string }).sid;
};
const liveTokens = async (familyId: string) =>
  Number(
    (await dbRow<{ n: string }>(
      'select count(*) as n from refresh_tokens where family_id = $1 and used_at is null and revoked_at is null',
      [familyId],
    ))!.n,
  );

function assertError(res: CallResult, code: string, appCode: string, what = '') {
  assert.is(res.error?.data.code, code, `${what} ${JSON.stringify(res.body)}`);
  assert.is(res.error?.data.appCode, appCode, what);
}

s('refresh rotates: a new pair, a new refresh token, the same session', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const r = await refresh(svc, user.tokens.refreshToken);
  assert.is(r.status, 200);
  assert.equal(Object.keys(r.data).sort(), [
    'accessToken',
    'expiresIn',
    'refreshExpiresIn',
    'refreshToken',
    'tokenType',
    'user',
  ]);
  assert.is(r.data.tokenType, 'Bearer');
  assert.is(r.data.expiresIn, 900);
  assert.ok(
    r.data.refreshExpiresIn > 43200 * 60 - 30 && r.data.refreshExpiresIn <= 43200 * 60,
    String(r.data.refreshExpiresIn),
  );
  assert.is(r.data.user.email, user.email);
  assert.is.not(r.data.refreshToken, user.tokens.refreshToken);
  assert.match(r.data.refreshToken, /^[A-Za-z0-9_-]{43,}$/);
  assert.is(sidOf(r.data.accessToken), sidOf(user.tokens.accessToken));
  assert.is((await me(svc, r.data.accessToken)).status, 200);
  const ev = await dbRow("select * from security_events where event_type = 'token_refresh' and user_id = $1", [
    r.data.user.id,
  ]);
  assert.is(ev?.details.session_id, sidOf(r.data.accessToken));
});

s('the old token inside the grace window returns the SAME successor, never a second branch', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const sid = sidOf(user.tokens.accessToken);
  const r0 = user.tokens.refreshToken;
  const first = await refresh(svc, r0);
  const again = await refresh(svc, r0);
  assert.is(again.status, 200, JSON.stringify(again.body));
  assert.is(again.data.refreshToken, first.data.refreshToken);
  assert.is((await me(svc, again.data.accessToken)).status, 200);
  assert.is(await liveTokens(sid), 1);
  const second = await refresh(svc, first.data.refreshToken);
  assert.is.not(second.data.refreshToken, first.data.refreshToken);
  assert.is(await liveTokens(sid), 1);
  const gens = await dbRows<{ generation: number }>(
    'select generation from refresh_tokens where family_id = $1 order by generation',
    [sid],
  );
  assert.equal(
    gens.map((g) => g.generation),
    [0, 1, 2],
  );
  // Two rotations on, the first token is no longer the live token's predecessor: reuse.
  assertError(await refresh(svc, r0), 'UNAUTHORIZED', 'REFRESH_TOKEN_REUSED', 'two rotations on');
});

s(
  'twenty concurrent refreshes of one token all succeed with one successor; one live token remains',
  async ({ svc }) => {
    const user = await createVerifiedUser(svc.url);
    const sid = sidOf(user.tokens.accessToken);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(svc, user.tokens.refreshToken)));
    for (const r of results) assert.is(r.status, 200, JSON.stringify(r.body));
    const successors = new Set(results.map((r) => r.data.refreshToken));
    assert.is(successors.size, 1);
    assert.not.ok(successors.has(user.tokens.refreshToken));
    assert.is(await liveTokens(sid), 1);
    assert.is(
      Number((await dbRow<{ n: string }>('select count(*) as n from refresh_tokens where family_id = $1', [sid]))!.n),
      2,
    );
    // The survivor is the one everybody got.
    const next = await refresh(svc, [...successors][0]!);
    assert.is(next.status, 200);
  },
);

s('reuse after the grace window revokes the whole session and raises an alert', async (ctx) => {
  const svc = await service(ctx, { REFRESH_REUSE_GRACE_SECONDS: '0' });
  const user = await createVerifiedUser(svc.url);
  const sid = sidOf(user.tokens.accessToken);
  const r0 = user.tokens.refreshToken;
  const rotated = await refresh(svc, r0);
  assert.is(rotated.status, 200);
  await new Promise((r) => setTimeout(r, 50));

  const stolen = await refresh(svc, r0);
  assert.is(stolen.status, 401);
  assertError(stolen, 'UNAUTHORIZED', 'REFRESH_TOKEN_REUSED');
  // The legitimate holder's successor and access token are dead too.
  assertError(await refresh(svc, rotated.data.refreshToken), 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN', 'successor');
  assertError(await me(svc, rotated.data.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED', 'successor access');
  assertError(await me(svc, user.tokens.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED', 'first access');

  const rows = await dbRows('select revoked_at, revoked_reason from refresh_tokens where family_id = $1', [sid]);
  assert.is(rows.length, 2);
  for (const row of rows) assert.ok(row.revoked_at, 'every token of the family is revoked');
  assert.ok(rows.some((row) => row.revoked_reason === 'reuse'));

  const userId = rotated.data.user.id;
  const event = await dbRow("select * from security_events where event_type = 'refresh_token_reuse' and user_id = $1", [
    userId,
  ]);
  assert.ok(event, 'refresh_token_reuse row');
  assert.is(event!.outcome, 'failure');
  assert.is(event!.details.session_id, sid);
  const alert = svc.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'SECURITY_ALERT' && l.event_type === 'refresh_token_reuse' && l.user_id === userId);
  assert.ok(alert, 'SECURITY_ALERT log line');
  const logText = svc.logs.join('\n');
  for (const secret of [r0, rotated.data.refreshToken, rotated.data.accessToken])
    assert.not.ok(logText.includes(secret));
});

s('the grace window is REFRESH_REUSE_GRACE_SECONDS long (controlled clock)', async (ctx) => {
  const clock = new ManualClock();
  const svc = await service(ctx, {}, clock); // default grace: 10 s
  const user = await createVerifiedUser(svc.url);
  const r0 = user.tokens.refreshToken;
  const r1 = (await refresh(svc, r0)).data.refreshToken;
  // Margins of whole seconds: the controlled clock still runs with real time.
  clock.advance(5);
  assert.is((await refresh(svc, r0)).data.refreshToken, r1, 'still concurrent at 5 s');
  clock.advance(6);
  assertError(await refresh(svc, r0), 'UNAUTHORIZED', 'REFRESH_TOKEN_REUSED', 'theft at 11 s');
  assertError(await refresh(svc, r1), 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN');
});

s('garbage, unknown, foreign and revoked refresh tokens are INVALID_REFRESH_TOKEN', async ({ svc }) => {
  const secret = baseTestEnv().SECRET_KEY!;
  const user = await createVerifiedUser(svc.url);
  await mutation(svc.url, 'auth.logout', { refreshToken: user.tokens.refreshToken });
  const cases: Record<string, string> = {
    garbage: 'garbage-garbage-garbage',
    'random 64 chars': 'A'.repeat(64),
    'well-formed but unknown (valid MAC, no row)': new RefreshTokenCodec(new Keyring(secret)).create().token,
    'from another SECRET_KEY': new RefreshTokenCodec(new Keyring('another-secret-key-0123456789abcdefghijkl')).create()
      .token,
    'an access token': user.tokens.accessToken.split('.')[2]!.slice(0, 200),
    'logged out': user.tokens.refreshToken,
  };
  for (const [name, token] of Object.entries(cases)) {
    const res = await refresh(svc, token);
    assert.is(res.status, 401, name);
    assertError(res, 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN', name);
  }
});

s('refresh tokens slide: each use renews REFRESH_TOKEN_EXPIRE_MINUTES, an unused one expires', async (ctx) => {
  const clock = new ManualClock();
  const svc = await service(ctx, { REFRESH_TOKEN_EXPIRE_MINUTES: '1' }, clock);
  const user = await createVerifiedUser(svc.url);
  assert.is(user.tokens.refreshExpiresIn, 60);
  let token = user.tokens.refreshToken;
  for (let i = 0; i < 3; i++) {
    clock.advance(50);
    const r = await refresh(svc, token);
    assert.is(r.status, 200, `refresh ${i} at ${(i + 1) * 50} s`);
    assert.is(r.data.refreshExpiresIn, 60);
    token = r.data.refreshToken;
  }
  clock.advance(61);
  assertError(await refresh(svc, token), 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN', 'expired');
});

s('a session ends SESSION_MAX_MINUTES after login however often it is refreshed', async (ctx) => {
  const clock = new ManualClock();
  const svc = await service(ctx, { REFRESH_TOKEN_EXPIRE_MINUTES: '1', SESSION_MAX_MINUTES: '2' }, clock);
  const user = await createVerifiedUser(svc.url);
  let pair = user.tokens;
  // The controlled clock also runs with real time: keep 10 s of margin before the end.
  for (const step of [50, 50, 10]) {
    clock.advance(step);
    const r = await refresh(svc, pair.refreshToken);
    assert.is(r.status, 200, `at +${step}`);
    pair = r.data;
  }
  // 110 s after login: the successor cannot outlive the session (sliding alone would give 60 s).
  assert.ok(pair.refreshExpiresIn <= 10, String(pair.refreshExpiresIn));
  assert.is((await me(svc, pair.accessToken)).status, 200);
  clock.advance(15);
  assertError(await refresh(svc, pair.refreshToken), 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN', 'past session max');
  // The session is over, so its access token is too.
  assertError(await me(svc, pair.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED', 'access after session max');
});

s('the database holds only digests of refresh tokens', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const r1 = (await refresh(svc, user.tokens.refreshToken)).data;
  const rows = await dbRows('select * from refresh_tokens where user_id = $1', [r1.user.id]);
  assert.is(rows.length, 2);
  const dump = JSON.stringify(rows);
  for (const token of [user.tokens.refreshToken, r1.refreshToken]) {
    const raw = Buffer.from(token, 'base64url');
    for (const form of [
      token,
      raw.toString('hex'),
      raw.toString('base64'),
      raw.subarray(16).toString('base64url'),
      raw.subarray(16).toString('hex'),
    ]) {
      assert.not.ok(dump.includes(form), 'plaintext token (or its secret half) stored');
    }
  }
  for (const row of rows) assert.ok(typeof row.token_hash === 'string' && row.token_hash.length >= 43);
});

s('logout ends the session at once and is idempotent', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const other = (await login(svc, user)).data; // a second session of the same user
  const out = await mutation(svc.url, 'auth.logout', { refreshToken: user.tokens.refreshToken });
  assert.is(out.status, 200);
  assert.equal(out.data, { ok: true });
  assertError(await me(svc, user.tokens.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED', 'access after logout');
  assertError(
    await refresh(svc, user.tokens.refreshToken),
    'UNAUTHORIZED',
    'INVALID_REFRESH_TOKEN',
    'refresh after logout',
  );
  // Again, and with tokens that never existed: still ok.
  const unknown = new RefreshTokenCodec(new Keyring(baseTestEnv().SECRET_KEY!)).create().token;
  for (const token of [user.tokens.refreshToken, 'garbage-garbage-garbage', unknown]) {
    const res = await mutation(svc.url, 'auth.logout', { refreshToken: token });
    assert.is(res.status, 200, token);
    assert.equal(res.data, { ok: true });
  }
  // The user's other session is untouched.
  assert.is((await me(svc, other.accessToken)).status, 200);
  assert.is((await refresh(svc, other.refreshToken)).status, 200);
  const ev = await dbRow("select * from security_events where event_type = 'logout' and user_id = $1", [other.user.id]);
  assert.is(ev?.details.session_id, sidOf(user.tokens.accessToken));
});

s('logout with an already-rotated token still ends that session', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const r1 = (await refresh(svc, user.tokens.refreshToken)).data;
  await mutation(svc.url, 'auth.logout', { refreshToken: user.tokens.refreshToken });
  assertError(await refresh(svc, r1.refreshToken), 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN');
  assertError(await me(svc, r1.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED');
  assert.is(await liveTokens(sidOf(r1.accessToken)), 0);
});

s('a deactivated user can neither refresh nor use an access token', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  await dbRows('update users set is_active = false where id = $1', [user.tokens.user.id]);
  assertError(await me(svc, user.tokens.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED');
  assertError(await refresh(svc, user.tokens.refreshToken), 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN');
  // Reactivation does not resurrect the session.
  await dbRows('update users set is_active = true where id = $1', [user.tokens.user.id]);
  assert.ok(
    await dbRow('select 1 from refresh_tokens where family_id = $1 and revoked_at is not null', [
      sidOf(user.tokens.accessToken),
    ]),
  );
  assertError(
    await refresh(svc, user.tokens.refreshToken),
    'UNAUTHORIZED',
    'INVALID_REFRESH_TOKEN',
    'after reactivation',
  );
});

s.run();
