import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import {
  dbNow,
  expectError,
  expectLocked,
  lockoutRows,
  login,
  loginOk,
  accountSuite,
  outboxSettled,
  pauseVerification,
  registerAccount,
  scryptParams,
  userRow,
  verifiedAccount,
  waitForMails,
} from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { startService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

const s = accountSuite('api: password reset', {
  LOCKOUT_THRESHOLD: '3',
  LOCKOUT_MINUTES: '30',
  LOCKOUT_MAX_MINUTES: '60',
});

const smtp = () => testGlobals().smtp;

/** Requests a reset and returns the token of the `n`th "Reset your password" mail to `email`. */
async function requestReset(url: string, email: string, n = 1): Promise<string> {
  const res = await mutation(url, 'auth.requestPasswordReset', { email });
  assert.is(res.status, 200);
  const mails = await waitForMails(email, 'Reset your password', n);
  return linkToken(mails[n - 1]!, 'reset-password');
}

s(
  'requestPasswordReset answers {ok:true} for known and unknown emails alike; only the known one is mailed',
  async ({ svc, db }) => {
    const { email } = await verifiedAccount(svc.url);
    const unknown = uniqueEmail('nobody');
    const since = await dbNow(db);
    const a = await mutation(svc.url, 'auth.requestPasswordReset', { email: `  ${email.toUpperCase()}` });
    const b = await mutation(svc.url, 'auth.requestPasswordReset', { email: unknown });
    assert.is(a.status, 200);
    assert.equal(a.data, { ok: true });
    assert.is(JSON.stringify(b.body), JSON.stringify(a.body));

    const mail = await smtp().waitFor(email, 'Reset your password');
    assert.match(mail.text, /http:\/\/auth\.test\.local\/reset-password\?token=[A-Za-z0-9_-]{32,}/);
    await outboxSettled(db, since);
    assert.is(smtp().all(unknown).length, 0, 'no mail to an unknown address');
  },
);

s('the reset token is stored only as a digest and expires after 30 minutes', async ({ svc, db }) => {
  const { email } = await verifiedAccount(svc.url);
  const token = await requestReset(svc.url, email);
  const id = (await userRow(db, email))!.id;
  const rows = await db.rows(
    `select token_hash, extract(epoch from expires_at - created_at)::float8 as ttl
       from email_tokens where user_id = $1 and purpose = 'reset_password'`,
    [id],
  );
  assert.is(rows.length, 1);
  assert.not.ok(rows[0].token_hash.includes(token));
  assert.ok(Math.abs(rows[0].ttl - 30 * 60) < 60, `ttl ${rows[0].ttl}`);
});

s(
  'resetPassword sets the new password, sends "Your password was changed", and works only once',
  async ({ svc, db }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const token = await requestReset(svc.url, email);
    const newPassword = strongPassword();
    const res = await mutation(svc.url, 'auth.resetPassword', { token, newPassword });
    assert.is(res.status, 200);
    assert.equal(res.data, { ok: true });

    await smtp().waitFor(email, 'Your password was changed');
    expectError(await login(svc.url, email, password), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    await loginOk(svc.url, email, newPassword);

    const again = await mutation(svc.url, 'auth.resetPassword', { token, newPassword: strongPassword() });
    expectError(again, 'BAD_REQUEST', 'INVALID_TOKEN');
    await loginOk(svc.url, email, newPassword);
    assert.ok((await userRow(db, email))!.hashed_password, 'hash stored');
  },
);

s('a weak new password is WEAK_PASSWORD and does not use up the link', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const token = await requestReset(svc.url, email);
  const local = email.split('@')[0]!;
  for (const [weak, reason] of [
    ['short-pw', 'too_short'],
    ['password1234567890', 'too_guessable'],
    [`Tundra-${local}-Pebble-71`, 'contains_email'],
  ] as const) {
    const res = await mutation(svc.url, 'auth.resetPassword', { token, newPassword: weak });
    assert.is(expectError(res, 'BAD_REQUEST', 'WEAK_PASSWORD').data.reason, reason);
  }
  // Nothing changed yet, and the same link still works.
  await loginOk(svc.url, email, password);
  const newPassword = strongPassword();
  assert.is((await mutation(svc.url, 'auth.resetPassword', { token, newPassword })).status, 200);
  await loginOk(svc.url, email, newPassword);
});

s(
  'a reset ends every session: old access tokens are UNAUTHENTICATED, old refresh tokens INVALID_REFRESH_TOKEN',
  async ({ svc }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const a = await loginOk(svc.url, email, password);
    const b = await loginOk(svc.url, email, password);
    assert.is((await query(svc.url, 'auth.me', undefined, { token: a.accessToken })).status, 200);

    const token = await requestReset(svc.url, email);
    assert.is((await mutation(svc.url, 'auth.resetPassword', { token, newPassword: strongPassword() })).status, 200);

    for (const pair of [a, b]) {
      const me = await query(svc.url, 'auth.me', undefined, { token: pair.accessToken });
      expectError(me, 'UNAUTHORIZED', 'UNAUTHENTICATED');
      const refreshed = await mutation(svc.url, 'auth.refresh', { refreshToken: pair.refreshToken });
      expectError(refreshed, 'UNAUTHORIZED', 'INVALID_REFRESH_TOKEN');
    }
  },
);

s('a reset clears a lockout: the new password logs in at once', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  for (let i = 0; i < 2; i++) await login(svc.url, email, strongPassword());
  expectLocked(await login(svc.url, email, strongPassword()));
  expectLocked(await login(svc.url, email, password));

  const token = await requestReset(svc.url, email);
  const newPassword = strongPassword();
  assert.is((await mutation(svc.url, 'auth.resetPassword', { token, newPassword })).status, 200);
  const row = (await userRow(db, email))!;
  assert.is(row.locked_until, null);
  assert.is(row.failed_attempts, 0);
  const [lock] = await lockoutRows(db, row.id);
  assert.ok(lock!.released_at, 'the lockout is marked released');
  await loginOk(svc.url, email, newPassword);
});

s('an expired reset token (older than 30 minutes) is INVALID_TOKEN', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const token = await requestReset(svc.url, email);
  const id = (await userRow(db, email))!.id;
  await db.rows(
    `update email_tokens set expires_at = now() - interval '1 second' where user_id = $1 and purpose = 'reset_password'`,
    [id],
  );
  const res = await mutation(svc.url, 'auth.resetPassword', { token, newPassword: strongPassword() });
  expectError(res, 'BAD_REQUEST', 'INVALID_TOKEN');
  await loginOk(svc.url, email, password);
});

s('the newest reset link replaces older ones', async ({ svc }) => {
  const { email } = await verifiedAccount(svc.url);
  const older = await requestReset(svc.url, email, 1);
  const newer = await requestReset(svc.url, email, 2);
  assert.is.not(newer, older);
  expectError(
    await mutation(svc.url, 'auth.resetPassword', { token: older, newPassword: strongPassword() }),
    'BAD_REQUEST',
    'INVALID_TOKEN',
  );
  const newPassword = strongPassword();
  assert.is((await mutation(svc.url, 'auth.resetPassword', { token: newer, newPassword })).status, 200);
  await loginOk(svc.url, email, newPassword);
});

s('unknown and malformed tokens; a verify-email token is not a reset token', async ({ svc }) => {
  const unknown = await mutation(svc.url, 'auth.resetPassword', {
    token: randomBytes(32).toString('base64url'),
    newPassword: strongPassword(),
  });
  expectError(unknown, 'BAD_REQUEST', 'INVALID_TOKEN');
  const malformed = await mutation(svc.url, 'auth.resetPassword', { token: 'short', newPassword: strongPassword() });
  assert.is(expectError(malformed, 'BAD_REQUEST', 'INVALID_INPUT').data.field, 'token');
  const missing = await mutation(svc.url, 'auth.resetPassword', { token: randomBytes(32).toString('base64url') });
  assert.is(expectError(missing, 'BAD_REQUEST', 'INVALID_INPUT').data.field, 'newPassword');

  const { verifyToken } = await registerAccount(svc.url);
  const crossed = await mutation(svc.url, 'auth.resetPassword', { token: verifyToken, newPassword: strongPassword() });
  expectError(crossed, 'BAD_REQUEST', 'INVALID_TOKEN');
  // ... and it still verifies the email afterwards.
  assert.is((await mutation(svc.url, 'auth.verifyEmail', { token: verifyToken })).status, 200);
});

s('a login that checked the old password while a reset committed gets no session', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const token = await requestReset(svc.url, email);
  const pause = pauseVerification(svc, password);
  try {
    const pending = login(svc.url, email, password);
    await pause.reached;
    const newPassword = strongPassword();
    assert.is((await mutation(svc.url, 'auth.resetPassword', { token, newPassword })).status, 200);
    pause.release();
    const res = await pending;
    // A 200 here would be a session opened with a password the reset had already replaced.
    expectError(res, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    await loginOk(svc.url, email, newPassword);
  } finally {
    pause.restore();
  }
});

s('a login that re-hashes the old password while a reset commits does not undo the reset', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const token = await requestReset(svc.url, email);
  const stronger = await startService({ SCRYPT_LOG_N: '11' });
  const pause = pauseVerification(stronger, password);
  try {
    const pending = login(stronger.url, email, password);
    await pause.reached;
    const newPassword = strongPassword();
    assert.is((await mutation(svc.url, 'auth.resetPassword', { token, newPassword })).status, 200);
    pause.release();
    await pending;
    pause.restore();
    expectError(await login(svc.url, email, password), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    await loginOk(svc.url, email, newPassword);
    assert.equal(scryptParams((await userRow(db, email))!.hashed_password).logN, 10);
  } finally {
    pause.restore();
    await stronger.close();
  }
});

s(
  'an unknown token is refused before the new password is judged (no policy oracle without a link)',
  async ({ svc }) => {
    const res = await mutation(svc.url, 'auth.resetPassword', {
      token: randomBytes(32).toString('base64url'),
      newPassword: 'weak',
    });
    expectError(res, 'BAD_REQUEST', 'INVALID_TOKEN');
  },
);

s.run();
