import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SessionInfo, TokenPair } from '../../shared/dto.js';
import { mutation, query, type CallResult } from '../support/http.js';
import { dbRow, dbRows } from '../support/pg.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/** sessions.* as a user manages their devices: list, revoke one, revoke all. */

const s = suite<{ svc: TestService }>('api: sessions');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const sidOf = (accessToken: string): string => {
  const body = Buffer.from(accessToken.split('.')[2]!, 'base64url');
  return (JSON.parse(body.subarray(0, body.length - 64).toString('utf8')) as { sid: string }).sid;
};
const me = (svc: TestService, token: string) => query(svc.url, 'auth.me', undefined, { token });
const list = (svc: TestService, token: string) => query<SessionInfo[]>(svc.url, 'sessions.list', undefined, { token });

/** A user with `n` sessions, each logged in with its own User-Agent. */
async function userWithSessions(svc: TestService, n: number): Promise<{ user: TestUser; pairs: TokenPair[] }> {
  const user = await createVerifiedUser(svc.url);
  const pairs = [user.tokens];
  for (let i = 1; i < n; i++) {
    const res = await mutation<TokenPair>(
      svc.url,
      'auth.login',
      { email: user.email, password: user.password },
      { headers: { 'user-agent': `device-${i}` } },
    );
    assert.is(res.status, 200);
    pairs.push(res.data);
  }
  return { user, pairs };
}

function assertError(res: CallResult, code: string, appCode: string, what = '') {
  assert.is(res.error?.data.code, code, `${what} ${JSON.stringify(res.body)}`);
  assert.is(res.error?.data.appCode, appCode, what);
}

s('sessions.list shows each login as one session, current=true on the caller', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 3);
  const res = await list(svc, pairs[1]!.accessToken);
  assert.is(res.status, 200);
  assert.is(res.data.length, 3);
  assert.equal(new Set(res.data.map((x) => x.id)), new Set(pairs.map((p) => sidOf(p.accessToken))));
  const current = res.data.filter((x) => x.current);
  assert.is(current.length, 1);
  assert.is(current[0]!.id, sidOf(pairs[1]!.accessToken));
  assert.is(current[0]!.userAgent, 'device-1');
  for (const item of res.data) {
    assert.equal(Object.keys(item).sort(), ['createdAt', 'current', 'id', 'ip', 'lastUsedAt', 'userAgent']);
    assert.ok(!Number.isNaN(Date.parse(item.createdAt)) && !Number.isNaN(Date.parse(item.lastUsedAt)));
    assert.ok(Date.parse(item.lastUsedAt) >= Date.parse(item.createdAt));
    assert.match(String(item.ip), /127\.0\.0\.1|::1/);
  }
  // From another session, "current" moves.
  const other = await list(svc, pairs[2]!.accessToken);
  assert.is(other.data.find((x) => x.current)?.id, sidOf(pairs[2]!.accessToken));
});

s('a refreshed session stays one entry; lastUsedAt moves, createdAt stays', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 2);
  const before = (await list(svc, pairs[0]!.accessToken)).data.find((x) => x.id === sidOf(pairs[1]!.accessToken))!;
  await new Promise((r) => setTimeout(r, 20));
  const refreshed = await mutation<TokenPair>(svc.url, 'auth.refresh', { refreshToken: pairs[1]!.refreshToken });
  const after = await list(svc, refreshed.data.accessToken);
  assert.is(after.data.length, 2);
  const entry = after.data.find((x) => x.id === sidOf(pairs[1]!.accessToken))!;
  assert.is(entry.current, true);
  assert.is(entry.createdAt, before.createdAt);
  assert.ok(Date.parse(entry.lastUsedAt) > Date.parse(before.lastUsedAt));
});

s('users see only their own sessions', async ({ svc }) => {
  const a = await userWithSessions(svc, 2);
  const b = await userWithSessions(svc, 1);
  const ids = (await list(svc, b.pairs[0]!.accessToken)).data.map((x) => x.id);
  assert.equal(ids, [sidOf(b.pairs[0]!.accessToken)]);
  for (const p of a.pairs) assert.not.ok(ids.includes(sidOf(p.accessToken)));
});

s('sessions.revoke ends that session at once', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 3);
  const [mine, target, bystander] = pairs as [TokenPair, TokenPair, TokenPair];
  const res = await mutation(
    svc.url,
    'sessions.revoke',
    { sessionId: sidOf(target.accessToken) },
    { token: mine.accessToken },
  );
  assert.is(res.status, 200);
  assert.equal(res.data, { ok: true });
  assertError(await me(svc, target.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED', 'revoked access');
  assertError(
    await mutation(svc.url, 'auth.refresh', { refreshToken: target.refreshToken }),
    'UNAUTHORIZED',
    'INVALID_REFRESH_TOKEN',
    'revoked refresh',
  );
  assert.is((await me(svc, mine.accessToken)).status, 200);
  assert.is((await me(svc, bystander.accessToken)).status, 200);
  const ids = (await list(svc, mine.accessToken)).data.map((x) => x.id);
  assert.not.ok(ids.includes(sidOf(target.accessToken)));
  assert.is(ids.length, 2);
  const ev = await dbRow("select * from security_events where event_type = 'session_revoked' and user_id = $1", [
    mine.user.id,
  ]);
  assert.is(ev?.details.session_id, sidOf(target.accessToken));
  // Revoking it again: still the caller's, nothing left to end.
  const again = await mutation(
    svc.url,
    'sessions.revoke',
    { sessionId: sidOf(target.accessToken) },
    { token: mine.accessToken },
  );
  assert.is(again.status, 200);
});

s('revoking the current session logs the caller out', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 1);
  const res = await mutation(
    svc.url,
    'sessions.revoke',
    { sessionId: sidOf(pairs[0]!.accessToken) },
    { token: pairs[0]!.accessToken },
  );
  assert.is(res.status, 200);
  assertError(await me(svc, pairs[0]!.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED');
});

s("another user's session, or an unknown one, is NOT_FOUND and stays alive", async ({ svc }) => {
  const alice = await userWithSessions(svc, 1);
  const mallory = await userWithSessions(svc, 1);
  const victim = sidOf(alice.pairs[0]!.accessToken);
  for (const sessionId of [victim, randomUUID()]) {
    const res = await mutation(svc.url, 'sessions.revoke', { sessionId }, { token: mallory.pairs[0]!.accessToken });
    assert.is(res.status, 404);
    assertError(res, 'NOT_FOUND', 'NOT_FOUND');
  }
  assert.is((await me(svc, alice.pairs[0]!.accessToken)).status, 200);
  const live = await dbRow<{ n: string }>(
    'select count(*) as n from refresh_tokens where family_id = $1 and revoked_at is null',
    [victim],
  );
  assert.is(live!.n, '1');
});

s('sessions.revoke validates its input', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 1);
  for (const input of [{ sessionId: 'not-a-uuid' }, {}, { sessionId: 42 }]) {
    const res = await mutation(svc.url, 'sessions.revoke', input, { token: pairs[0]!.accessToken });
    assert.is(res.status, 400, JSON.stringify(input));
    assertError(res, 'BAD_REQUEST', 'INVALID_INPUT');
    assert.is(res.error?.data.field, 'sessionId');
  }
});

s('revokeAll with exceptCurrent ends every other session and reports how many', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 4);
  // A session refreshed twice is still one session.
  let p3 = pairs[3]!;
  for (let i = 0; i < 2; i++)
    p3 = (await mutation<TokenPair>(svc.url, 'auth.refresh', { refreshToken: p3.refreshToken })).data;
  const res = await mutation(svc.url, 'sessions.revokeAll', { exceptCurrent: true }, { token: pairs[0]!.accessToken });
  assert.is(res.status, 200);
  assert.equal(res.data, { revoked: 3 });
  assert.is((await me(svc, pairs[0]!.accessToken)).status, 200);
  for (const p of [pairs[1]!, pairs[2]!, p3])
    assertError(await me(svc, p.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED');
  assert.equal(
    (await list(svc, pairs[0]!.accessToken)).data.map((x) => x.id),
    [sidOf(pairs[0]!.accessToken)],
  );
  // Nothing else to end now.
  assert.equal(
    (await mutation(svc.url, 'sessions.revokeAll', { exceptCurrent: true }, { token: pairs[0]!.accessToken })).data,
    { revoked: 0 },
  );
});

s("revokeAll without exceptCurrent ends every session, the caller's too", async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 3);
  const other = await userWithSessions(svc, 1);
  const res = await mutation(svc.url, 'sessions.revokeAll', {}, { token: pairs[0]!.accessToken });
  assert.is(res.status, 200);
  assert.equal(res.data, { revoked: 3 });
  for (const p of pairs) assertError(await me(svc, p.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED');
  const left = await dbRows('select 1 from refresh_tokens where user_id = $1 and revoked_at is null', [
    pairs[0]!.user.id,
  ]);
  assert.is(left.length, 0);
  // Other users are unaffected.
  assert.is((await me(svc, other.pairs[0]!.accessToken)).status, 200);
});

s('revokeAll takes no input at all (exceptCurrent is optional)', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 2);
  const res = await mutation(svc.url, 'sessions.revokeAll', undefined, { token: pairs[0]!.accessToken });
  assert.is(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.data, { revoked: 2 });
});

s('sessions.* need an access token', async ({ svc }) => {
  assertError(await query(svc.url, 'sessions.list'), 'UNAUTHORIZED', 'UNAUTHENTICATED');
  assertError(
    await mutation(svc.url, 'sessions.revoke', { sessionId: randomUUID() }),
    'UNAUTHORIZED',
    'UNAUTHENTICATED',
  );
  assertError(await mutation(svc.url, 'sessions.revokeAll', {}), 'UNAUTHORIZED', 'UNAUTHENTICATED');
});

s('a bumped session_version ends every access token of the user at once', async ({ svc }) => {
  const { pairs } = await userWithSessions(svc, 2);
  await dbRows('update users set session_version = session_version + 1 where id = $1', [pairs[0]!.user.id]);
  for (const p of pairs) assertError(await me(svc, p.accessToken), 'UNAUTHORIZED', 'UNAUTHENTICATED');
});

s.run();
