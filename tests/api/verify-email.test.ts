import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import {
  dbNow,
  expectError,
  login,
  accountSuite,
  outboxSettled,
  registerAccount,
  userRow,
  waitForMails,
} from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { linkToken } from '../support/smtp.js';
import { uniqueEmail } from '../support/users.js';

const s = accountSuite('api: auth.verifyEmail / auth.resendVerification');

const smtp = () => testGlobals().smtp;

s('the link verifies the email once: login then works; a second use is INVALID_TOKEN', async ({ svc, db }) => {
  const { email, password, verifyToken } = await registerAccount(svc.url);
  expectError(await login(svc.url, email, password), 'FORBIDDEN', 'EMAIL_NOT_VERIFIED');

  const first = await mutation(svc.url, 'auth.verifyEmail', { token: verifyToken });
  assert.is(first.status, 200);
  assert.equal(first.data, { ok: true });
  assert.ok((await userRow(db, email))?.email_verified_at, 'email_verified_at set');
  const pair = await login(svc.url, email, password);
  assert.is(pair.status, 200);
  assert.is(pair.data.user.emailVerified, true);

  const again = await mutation(svc.url, 'auth.verifyEmail', { token: verifyToken });
  expectError(again, 'BAD_REQUEST', 'INVALID_TOKEN');
});

s('the token is stored only as a digest, and expires after 24 h', async ({ svc, db }) => {
  const { email, verifyToken } = await registerAccount(svc.url);
  const user = (await userRow(db, email))!;
  const rows = await db.rows(
    `select token_hash, extract(epoch from expires_at - created_at)::float8 as ttl
       from email_tokens where user_id = $1 and purpose = 'verify_email'`,
    [user.id],
  );
  assert.is(rows.length, 1);
  assert.is.not(rows[0].token_hash, verifyToken);
  assert.not.ok(rows[0].token_hash.includes(verifyToken));
  // 24 h, give or take the moments between the app's and the database's clocks.
  assert.ok(Math.abs(rows[0].ttl - 24 * 3600) < 60, `ttl ${rows[0].ttl}`);
});

s('a well-formed but unknown token is INVALID_TOKEN; a malformed one is INVALID_INPUT', async ({ svc }) => {
  const unknown = await mutation(svc.url, 'auth.verifyEmail', { token: randomBytes(32).toString('base64url') });
  expectError(unknown, 'BAD_REQUEST', 'INVALID_TOKEN');
  const malformed = await mutation(svc.url, 'auth.verifyEmail', { token: 'not a token!' });
  assert.is(expectError(malformed, 'BAD_REQUEST', 'INVALID_INPUT').data.field, 'token');
});

s('an expired token is INVALID_TOKEN and leaves the account unverified', async ({ svc, db }) => {
  const { email, password, verifyToken } = await registerAccount(svc.url);
  const user = (await userRow(db, email))!;
  await db.rows(
    `update email_tokens set expires_at = now() - interval '1 minute' where user_id = $1 and purpose = 'verify_email'`,
    [user.id],
  );
  const res = await mutation(svc.url, 'auth.verifyEmail', { token: verifyToken });
  expectError(res, 'BAD_REQUEST', 'INVALID_TOKEN');
  assert.is((await userRow(db, email))!.email_verified_at, null);
  expectError(await login(svc.url, email, password), 'FORBIDDEN', 'EMAIL_NOT_VERIFIED');
});

s('a reset token does not verify an email (purposes are separate)', async ({ svc }) => {
  const { email } = await registerAccount(svc.url);
  await mutation(svc.url, 'auth.requestPasswordReset', { email });
  const resetToken = linkToken(await smtp().waitFor(email, 'Reset your password'), 'reset-password');
  expectError(await mutation(svc.url, 'auth.verifyEmail', { token: resetToken }), 'BAD_REQUEST', 'INVALID_TOKEN');
});

s('resendVerification sends a new link that replaces the older one', async ({ svc }) => {
  const { email, password, verifyToken: older } = await registerAccount(svc.url);
  const res = await mutation(svc.url, 'auth.resendVerification', { email: `  ${email.toUpperCase()} ` });
  assert.is(res.status, 200);
  assert.equal(res.data, { ok: true });
  const mails = await waitForMails(email, 'Verify your email', 2);
  const newer = linkToken(mails[1]!, 'verify-email');
  assert.is.not(newer, older);

  expectError(await mutation(svc.url, 'auth.verifyEmail', { token: older }), 'BAD_REQUEST', 'INVALID_TOKEN');
  assert.is((await mutation(svc.url, 'auth.verifyEmail', { token: newer })).status, 200);
  assert.is((await login(svc.url, email, password)).status, 200);
});

s(
  'resendVerification answers {ok:true} for unknown and already verified emails, and mails neither',
  async ({ svc, db }) => {
    const unknown = uniqueEmail('nobody');
    const { email: verified, verifyToken } = await registerAccount(svc.url);
    await mutation(svc.url, 'auth.verifyEmail', { token: verifyToken });
    const since = await dbNow(db);

    const a = await mutation(svc.url, 'auth.resendVerification', { email: unknown });
    const b = await mutation(svc.url, 'auth.resendVerification', { email: verified });
    assert.is(a.status, 200);
    assert.is(JSON.stringify(a.body), JSON.stringify(b.body));
    assert.equal(a.data, { ok: true });

    // A mail to a sentinel after the two requests proves the outbox has been worked through.
    const sentinel = await registerAccount(svc.url);
    await outboxSettled(db, since);
    assert.ok(smtp().all(sentinel.email, 'Verify your email').length === 1);
    assert.is(smtp().all(unknown).length, 0, 'no mail to an unknown address');
    assert.is(smtp().all(verified, 'Verify your email').length, 1, 'no second link for a verified account');
  },
);

s.run();
