import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { linkToken } from '../support/smtp.js';
import {
  expectError,
  login,
  loginOk,
  accountSuite,
  pauseVerification,
  scryptParams,
  userRow,
  verifiedAccount,
} from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { strongPassword } from '../support/users.js';

const s = accountSuite('api: auth.changePassword');

const smtp = () => testGlobals().smtp;

const change = (url: string, token: string, currentPassword: string, newPassword: string) =>
  mutation<TokenPair>(url, 'auth.changePassword', { currentPassword, newPassword }, { token });

s('returns a new TokenPair that works; the new password logs in and the old one does not', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const session = await loginOk(svc.url, email, password);
  const before = (await userRow(db, email))!;
  const newPassword = strongPassword();
  const res = await change(svc.url, session.accessToken, password, newPassword);
  assert.is(res.status, 200, JSON.stringify(res.body));
  const pair = res.data;
  assert.is(pair.tokenType, 'Bearer');
  assert.is(pair.user.email, email);
  assert.is.not(pair.accessToken, session.accessToken);
  assert.is.not(pair.refreshToken, session.refreshToken);

  const me = await query(svc.url, 'auth.me', undefined, { token: pair.accessToken });
  assert.is(me.status, 200);
  assert.is(me.data.email, email);
  assert.is((await mutation(svc.url, 'auth.refresh', { refreshToken: pair.refreshToken })).status, 200);

  const after = (await userRow(db, email))!;
  assert.is.not(after.hashed_password, before.hashed_password);
  assert.not.ok(after.hashed_password.includes(newPassword));
  assert.equal(scryptParams(after.hashed_password), { logN: 10, r: 8, p: 1 });
  assert.ok(after.session_version > before.session_version, 'session_version bumped');

  expectError(await login(svc.url, email, password), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  await loginOk(svc.url, email, newPassword);
  await smtp().waitFor(email, 'Your password was changed');
});

s("every other session ends, and the caller's old tokens too", async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const mine = await loginOk(svc.url, email, password);
  const other = await loginOk(svc.url, email, password);
  const res = await change(svc.url, mine.accessToken, password, strongPassword());
  assert.is(res.status, 200);

  for (const [name, pair] of [
    ['other session', other],
    ["caller's previous pair", mine],
  ] as const) {
    expectError(
      await query(svc.url, 'auth.me', undefined, { token: pair.accessToken }),
      'UNAUTHORIZED',
      'UNAUTHENTICATED',
    );
    const r = await mutation(svc.url, 'auth.refresh', { refreshToken: pair.refreshToken });
    expectError(r, 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN');
    assert.ok(r.error, name);
  }
  // The one session left is the new one.
  const sessions = await query(svc.url, 'sessions.list', undefined, { token: res.data.accessToken });
  assert.is(sessions.status, 200);
  assert.is(sessions.data.length, 1);
  assert.is(sessions.data[0].current, true);
});

s('a wrong current password is INVALID_CREDENTIALS and changes nothing', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const session = await loginOk(svc.url, email, password);
  const before = (await userRow(db, email))!;
  const res = await change(svc.url, session.accessToken, strongPassword(), strongPassword());
  assert.is(res.status, 401);
  expectError(res, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  const after = (await userRow(db, email))!;
  assert.is(after.hashed_password, before.hashed_password);
  assert.is(after.failed_attempts, 1, 'counted toward lockout');
  assert.is(
    (await query(svc.url, 'auth.me', undefined, { token: session.accessToken })).status,
    200,
    'the session survives',
  );
});

s('a weak new password is WEAK_PASSWORD with its reason and changes nothing', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const session = await loginOk(svc.url, email, password);
  const before = (await userRow(db, email))!.hashed_password;
  const local = email.split('@')[0]!;
  const cases = [
    ['Sh0rt-pass', 'too_short'],
    ['x'.repeat(257), 'too_long'],
    ['password1234567890', 'too_guessable'],
    [`Quartz-${local.toUpperCase()}-Lantern-5`, 'contains_email'],
    ['Quartz-SECURE-AUTH-Lantern-5', 'contains_service_name'],
  ] as const;
  for (const [weak, reason] of cases) {
    const res = await change(svc.url, session.accessToken, password, weak);
    assert.is(expectError(res, 'BAD_REQUEST', 'WEAK_PASSWORD').data.reason, reason, reason);
  }
  assert.is((await userRow(db, email))!.hashed_password, before);
  await loginOk(svc.url, email, password);
});

s('needs a live access token: none, or a revoked one, is UNAUTHENTICATED', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const res = await mutation(svc.url, 'auth.changePassword', {
    currentPassword: password,
    newPassword: strongPassword(),
  });
  expectError(res, 'UNAUTHORIZED', 'UNAUTHENTICATED');
  const session = await loginOk(svc.url, email, password);
  await mutation(svc.url, 'auth.logout', { refreshToken: session.refreshToken });
  expectError(
    await change(svc.url, session.accessToken, password, strongPassword()),
    'UNAUTHORIZED',
    'UNAUTHENTICATED',
  );
  await loginOk(svc.url, email, password);
});

s(
  'a change that checked the current password while a reset committed is refused; the reset stands',
  async ({ svc }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const session = await loginOk(svc.url, email, password);
    await mutation(svc.url, 'auth.requestPasswordReset', { email });
    const token = linkToken(await smtp().waitFor(email, 'Reset your password'), 'reset-password');
    const pause = pauseVerification(svc, password);
    try {
      const attackerPassword = strongPassword();
      const pending = change(svc.url, session.accessToken, password, attackerPassword);
      await pause.reached;
      const ownerPassword = strongPassword();
      assert.is((await mutation(svc.url, 'auth.resetPassword', { token, newPassword: ownerPassword })).status, 200);
      pause.release();
      const res = await pending;
      // The reset ended this session; the change must not override the owner's new password.
      expectError(res, 'UNAUTHORIZED', 'UNAUTHENTICATED');
      pause.restore();
      expectError(await login(svc.url, email, attackerPassword), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
      await loginOk(svc.url, email, ownerPassword);
    } finally {
      pause.restore();
    }
  },
);

s('invalid input names the field', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const session = await loginOk(svc.url, email, password);
  const missing = await mutation(
    svc.url,
    'auth.changePassword',
    { currentPassword: password },
    { token: session.accessToken },
  );
  assert.is(expectError(missing, 'BAD_REQUEST', 'INVALID_INPUT').data.field, 'newPassword');
  const wrongType = await mutation(
    svc.url,
    'auth.changePassword',
    { currentPassword: 1, newPassword: strongPassword() },
    { token: session.accessToken },
  );
  assert.is(expectError(wrongType, 'BAD_REQUEST', 'INVALID_INPUT').data.field, 'currentPassword');
});

s.run();
