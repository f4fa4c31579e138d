import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { ManualClock } from '../support/clock.js';
import { expectError, expectLocked, openDb, type TestDb } from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { challenge, claimsOf, codeNow, totpUser, verify } from '../support/mfa.js';
import { startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { createVerifiedUser, strongPassword } from '../support/users.js';

// A threshold above the challenge's 5 wrong answers, so the two limits can
// be told apart; a clock the tests move (TOTP steps, challenge expiry).
const ENV = { LOCKOUT_THRESHOLD: '8', LOCKOUT_MINUTES: '1', LOCKOUT_MAX_MINUTES: '2' };

const s = suite<{ svc: TestService; clock: ManualClock; db: TestDb }>('api: second-factor login');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService(ENV, { clock: ctx.clock });
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

/** Moves past the current TOTP step, so the next code is a new one. */
const nextStep = (clock: ManualClock) => clock.advance(30);

s(
  'login of an account with a confirmed factor answers a challenge: no token, no session, only a digest at rest',
  async ({ svc, clock, db }) => {
    const u = await totpUser(svc, clock);
    const sessionsBefore = await db.row<{ n: number }>(
      'select count(*)::int as n from refresh_tokens where user_id = $1',
      [u.id],
    );
    const res = await mutation(svc.url, 'auth.login', { email: u.email, password: u.password });
    assert.is(res.status, 200);
    assert.equal(Object.keys(res.data).sort(), ['expiresIn', 'methods', 'mfaRequired', 'mfaToken']);
    assert.is(res.data.mfaRequired, true);
    assert.equal(res.data.methods, ['totp', 'recovery_code']);
    assert.is(res.data.expiresIn, 300);
    assert.is(res.data.accessToken, undefined);
    assert.is(res.data.refreshToken, undefined);
    const sessionsAfter = await db.row<{ n: number }>(
      'select count(*)::int as n from refresh_tokens where user_id = $1',
      [u.id],
    );
    assert.is(sessionsAfter!.n, sessionsBefore!.n, 'no session before the second factor');
    const rows = await db.rows<{ token_hash: string }>('select token_hash from mfa_challenges where user_id = $1', [
      u.id,
    ]);
    assert.is(rows.length, 1);
    assert.is.not(rows[0]!.token_hash, res.data.mfaToken);
    assert.not.ok(JSON.stringify(rows).includes(res.data.mfaToken), 'the mfaToken is not stored');
    // The mfaToken is no access token.
    expectError(
      await query(svc.url, 'auth.me', undefined, { token: res.data.mfaToken }),
      'UNAUTHORIZED',
      'UNAUTHENTICATED',
    );
    expectError(
      await mutation(svc.url, 'auth.refresh', { refreshToken: res.data.mfaToken }),
      'UNAUTHORIZED',
      'INVALID_REFRESH_TOKEN',
    );
  },
);

s('a TOTP code finishes the login; amr is ["pwd","otp"] and survives refreshes', async ({ svc, clock }) => {
  const u = await totpUser(svc, clock);
  nextStep(clock);
  const c = await challenge(svc.url, u.email, u.password);
  const res = await verify(svc.url, c.mfaToken, codeNow(u.secret, clock));
  assert.is(res.status, 200, JSON.stringify(res.body));
  assert.is(res.data.tokenType, 'Bearer');
  assert.equal((await claimsOf(svc, res.data.accessToken)).amr, ['pwd', 'otp']);
  const me = await query(svc.url, 'auth.me', undefined, { token: res.data.accessToken });
  assert.is(me.data.id, u.id);
  const refreshed = await mutation<TokenPair>(svc.url, 'auth.refresh', { refreshToken: res.data.refreshToken });
  assert.is(refreshed.status, 200);
  assert.equal((await claimsOf(svc, refreshed.data.accessToken)).amr, ['pwd', 'otp']);
  const again = await mutation<TokenPair>(svc.url, 'auth.refresh', { refreshToken: refreshed.data.refreshToken });
  assert.equal((await claimsOf(svc, again.data.accessToken)).amr, ['pwd', 'otp']);
});

s(
  'an account without a confirmed factor gets a token pair with amr ["pwd"]; an unconfirmed enrolment changes nothing',
  async ({ svc }) => {
    const u = await createVerifiedUser(svc.url);
    assert.equal((await claimsOf(svc, u.tokens.accessToken)).amr, ['pwd']);
    await mutation(svc.url, 'mfa.totp.enroll', { currentPassword: u.password }, { token: u.tokens.accessToken });
    const res = await mutation<TokenPair>(svc.url, 'auth.login', { email: u.email, password: u.password });
    assert.type(res.data.accessToken, 'string');
  },
);

s('an mfaToken works once: a second answer, even a right one, is MFA_CHALLENGE_EXPIRED', async ({ svc, clock }) => {
  const u = await totpUser(svc, clock);
  nextStep(clock);
  const c = await challenge(svc.url, u.email, u.password);
  assert.is((await verify(svc.url, c.mfaToken, codeNow(u.secret, clock))).status, 200);
  nextStep(clock);
  expectError(await verify(svc.url, c.mfaToken, codeNow(u.secret, clock)), 'UNAUTHORIZED', 'MFA_CHALLENGE_EXPIRED');
  expectError(await verify(svc.url, c.mfaToken, u.recoveryCodes[0]!), 'UNAUTHORIZED', 'MFA_CHALLENGE_EXPIRED');
});

s(
  'a replayed code is refused: a step once accepted is never accepted again, even in a new challenge',
  async ({ svc, clock }) => {
    const u = await totpUser(svc, clock);
    nextStep(clock);
    const code = codeNow(u.secret, clock);
    assert.is((await verify(svc.url, (await challenge(svc.url, u.email, u.password)).mfaToken, code)).status, 200);
    const replay = await verify(svc.url, (await challenge(svc.url, u.email, u.password)).mfaToken, code);
    expectError(replay, 'UNAUTHORIZED', 'INVALID_MFA_CODE');
    // An older step than the last accepted one is refused as well.
    const older = await verify(
      svc.url,
      (await challenge(svc.url, u.email, u.password)).mfaToken,
      codeNow(u.secret, clock, -1),
    );
    expectError(older, 'UNAUTHORIZED', 'INVALID_MFA_CODE');
  },
);

s('parallel uses of one code: exactly one login gets a session', async ({ svc, clock }) => {
  const u = await totpUser(svc, clock);
  nextStep(clock);
  const code = codeNow(u.secret, clock);
  const tokens = [];
  for (let i = 0; i < 5; i++) tokens.push((await challenge(svc.url, u.email, u.password)).mfaToken);
  const results = await Promise.all(tokens.map((t) => verify(svc.url, t, code)));
  assert.is(results.filter((r) => r.status === 200).length, 1);
  for (const r of results.filter((x) => x.status !== 200)) assert.is(r.error?.data.appCode, 'INVALID_MFA_CODE');
});

s('codes one step either side are accepted; two steps away they are refused', async ({ svc, clock }) => {
  const u = await totpUser(svc, clock);
  nextStep(clock);
  for (const offset of [2, -2]) {
    const c = await challenge(svc.url, u.email, u.password);
    expectError(
      await verify(svc.url, c.mfaToken, codeNow(u.secret, clock, offset)),
      'UNAUTHORIZED',
      'INVALID_MFA_CODE',
    );
  }
  nextStep(clock);
  nextStep(clock);
  const late = await verify(
    svc.url,
    (await challenge(svc.url, u.email, u.password)).mfaToken,
    codeNow(u.secret, clock, -1),
  );
  assert.is(late.status, 200, 'the previous step (clock drift)');
  nextStep(clock);
  nextStep(clock);
  const early = await verify(
    svc.url,
    (await challenge(svc.url, u.email, u.password)).mfaToken,
    codeNow(u.secret, clock, 1),
  );
  assert.is(early.status, 200, 'the next step (clock drift)');
});

s("another account's code does not answer this account's challenge", async ({ svc, clock }) => {
  const a = await totpUser(svc, clock);
  const b = await totpUser(svc, clock);
  nextStep(clock);
  const c = await challenge(svc.url, a.email, a.password);
  const bCode = codeNow(b.secret, clock);
  if (bCode !== codeNow(a.secret, clock))
    expectError(await verify(svc.url, c.mfaToken, bCode), 'UNAUTHORIZED', 'INVALID_MFA_CODE');
  expectError(await verify(svc.url, c.mfaToken, b.recoveryCodes[0]!), 'UNAUTHORIZED', 'INVALID_MFA_CODE');
  // B's code still works for B: the failed attempt on A's challenge did not spend it.
  const cb = await challenge(svc.url, b.email, b.password);
  assert.is((await verify(svc.url, cb.mfaToken, b.recoveryCodes[0]!)).status, 200);
  // A session made from B's challenge is B's, whatever code answered it.
  const ca = await challenge(svc.url, a.email, a.password);
  const ok = await verify(svc.url, ca.mfaToken, codeNow(a.secret, clock));
  assert.is(ok.data.user.id, a.id);
});

s('an mfaToken expires after 5 minutes', async ({ svc, clock }) => {
  const u = await totpUser(svc, clock);
  const c = await challenge(svc.url, u.email, u.password);
  clock.advance(5 * 60 + 1);
  expectError(await verify(svc.url, c.mfaToken, codeNow(u.secret, clock)), 'UNAUTHORIZED', 'MFA_CHALLENGE_EXPIRED');
  const fresh = await challenge(svc.url, u.email, u.password);
  assert.is((await verify(svc.url, fresh.mfaToken, codeNow(u.secret, clock))).status, 200);
});

s('an mfaToken dies after 5 wrong answers, even for the right code next', async ({ svc, clock }) => {
  const u = await totpUser(svc, clock);
  nextStep(clock);
  const c = await challenge(svc.url, u.email, u.password);
  for (let i = 0; i < 5; i++)
    expectError(await verify(svc.url, c.mfaToken, '000000'), 'UNAUTHORIZED', 'INVALID_MFA_CODE');
  expectError(await verify(svc.url, c.mfaToken, codeNow(u.secret, clock)), 'UNAUTHORIZED', 'MFA_CHALLENGE_EXPIRED');
});

s(
  'wrong answers count toward the lockout; a locked account is refused on the password and second-factor paths alike',
  async ({ svc, clock, db }) => {
    const u = await totpUser(svc, clock);
    nextStep(clock);
    const first = await challenge(svc.url, u.email, u.password);
    for (let i = 0; i < 5; i++) await verify(svc.url, first.mfaToken, '000000');
    assert.is((await db.row('select failed_attempts from users where id = $1', [u.id]))!.failed_attempts, 5);
    // The right password does not wipe the count: a stolen password buys no fresh guesses.
    const second = await challenge(svc.url, u.email, u.password);
    const pending = await challenge(svc.url, u.email, u.password);
    expectError(await verify(svc.url, second.mfaToken, '000000'), 'UNAUTHORIZED', 'INVALID_MFA_CODE');
    expectError(await verify(svc.url, second.mfaToken, '000000'), 'UNAUTHORIZED', 'INVALID_MFA_CODE');
    expectLocked(await verify(svc.url, second.mfaToken, '000000'));
    // Locked: the right code, a recovery code and the right password are all refused.
    expectLocked(await verify(svc.url, pending.mfaToken, codeNow(u.secret, clock)));
    expectLocked(await verify(svc.url, pending.mfaToken, u.recoveryCodes[0]!));
    expectLocked(await mutation(svc.url, 'auth.login', { email: u.email, password: u.password }));
    const lock = await db.row('select count(*)::int as n from lockouts where user_id = $1', [u.id]);
    assert.is(lock!.n, 1);
    // After the lock, a new challenge and the right code sign in and reset the count.
    clock.advance(121);
    const after = await challenge(svc.url, u.email, u.password);
    assert.is((await verify(svc.url, after.mfaToken, codeNow(u.secret, clock))).status, 200);
    assert.is((await db.row('select failed_attempts from users where id = $1', [u.id]))!.failed_attempts, 0);
  },
);

s(
  'a recovery code finishes a login once (any case, with or without the dash), amr ["pwd","kba"], and mails the owner',
  async ({ svc, clock }) => {
    const u = await totpUser(svc, clock);
    const code = u.recoveryCodes[3]!;
    const res = await verify(
      svc.url,
      (await challenge(svc.url, u.email, u.password)).mfaToken,
      code.replace('-', '').toUpperCase(),
    );
    assert.is(res.status, 200, JSON.stringify(res.body));
    assert.equal((await claimsOf(svc, res.data.accessToken)).amr, ['pwd', 'kba']);
    const mail = await testGlobals().smtp.waitFor(u.email, 'A recovery code was used');
    assert.match(mail.text, /9 unused codes left/);
    expectError(
      await verify(svc.url, (await challenge(svc.url, u.email, u.password)).mfaToken, code),
      'UNAUTHORIZED',
      'INVALID_MFA_CODE',
    );
    const list = await query(svc.url, 'mfa.list', undefined, { token: res.data.accessToken });
    assert.is(list.data.recoveryCodesLeft, 9);
  },
);

s('twenty parallel uses of one recovery code: exactly one succeeds', async ({ svc, clock }) => {
  const svc2 = await startService({ LOCKOUT_THRESHOLD: '100' }, { clock });
  try {
    const u = await totpUser(svc2, clock);
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) tokens.push((await challenge(svc2.url, u.email, u.password)).mfaToken);
    const results = await Promise.all(tokens.map((t) => verify(svc2.url, t, u.recoveryCodes[0]!)));
    assert.is(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join(','));
    for (const r of results.filter((x) => x.status !== 200)) assert.is(r.error?.data.appCode, 'INVALID_MFA_CODE');
  } finally {
    await svc2.close();
  }
  void svc;
});

s(
  'a password reset keeps the factors: the next login still asks for one, and a challenge from the old password is dead',
  async ({ svc, clock }) => {
    const u = await totpUser(svc, clock);
    const old = await challenge(svc.url, u.email, u.password);
    await mutation(svc.url, 'auth.requestPasswordReset', { email: u.email });
    // The reset mail is queued after the answer (its work never lengthens it): wait for the mail itself.
    const mail = await testGlobals().smtp.waitFor(u.email, 'Reset your password');
    const newPassword = strongPassword();
    const reset = await mutation(svc.url, 'auth.resetPassword', {
      token: linkToken(mail, 'reset-password'),
      newPassword,
    });
    assert.is(reset.status, 200);
    nextStep(clock);
    expectError(await verify(svc.url, old.mfaToken, codeNow(u.secret, clock)), 'UNAUTHORIZED', 'MFA_CHALLENGE_EXPIRED');
    const c = await challenge(svc.url, u.email, newPassword);
    assert.is((await verify(svc.url, c.mfaToken, codeNow(u.secret, clock))).status, 200);
  },
);

s(
  'second-factor answers are events and metrics: mfa_success, mfa_failure, mfa_challenges_total{outcome}',
  async ({ svc, clock, db }) => {
    const u = await totpUser(svc, clock);
    nextStep(clock);
    const c = await challenge(svc.url, u.email, u.password);
    await verify(svc.url, c.mfaToken, '000000');
    await verify(svc.url, c.mfaToken, codeNow(u.secret, clock));
    const events = await db.rows<{ event_type: string; outcome: string }>(
      "select event_type, outcome from security_events where user_id = $1 and event_type like 'mfa_%' order by created_at",
      [u.id],
    );
    assert.ok(events.some((e) => e.event_type === 'mfa_failure' && e.outcome === 'failure'));
    assert.ok(events.some((e) => e.event_type === 'mfa_success' && e.outcome === 'success'));
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    for (const outcome of ['issued', 'success', 'failure', 'expired']) {
      assert.match(metrics, new RegExp(`mfa_challenges_total\\{outcome="${outcome}"\\} [1-9]`), outcome);
    }
    assert.ok(svc.logs.some((l) => l.includes('"event_type":"mfa_success"')));
  },
);

s(
  'expired login and passkey challenges are pruned by the maintenance pass; live ones stay',
  async ({ svc, clock, db }) => {
    const u = await totpUser(svc, clock);
    const live = await challenge(svc.url, u.email, u.password);
    await mutation(svc.url, 'auth.passkey.loginOptions');
    const before = await db.row<{ m: number; w: number }>(
      'select (select count(*) from mfa_challenges)::int as m, (select count(*) from webauthn_challenges)::int as w',
    );
    assert.ok(before!.m > 0 && before!.w > 0);
    clock.advance(2 * 3600);
    const fresh = await challenge(svc.url, u.email, u.password);
    const pruned = await svc.deps.maintenance.runOnce();
    assert.ok(pruned.challenges >= 2, `pruned ${pruned.challenges}`);
    expectError(
      await verify(svc.url, live.mfaToken, codeNow(u.secret, clock)),
      'UNAUTHORIZED',
      'MFA_CHALLENGE_EXPIRED',
    );
    assert.is(
      (await verify(svc.url, fresh.mfaToken, codeNow(u.secret, clock))).status,
      200,
      'a live challenge survives the pass',
    );
    const left = await db.row<{ n: number }>('select count(*)::int as n from mfa_challenges where expires_at < $1', [
      new Date(clock.now().getTime() - 3600_000),
    ]);
    assert.is(left!.n, 0);
  },
);

s.run();
