import { createServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { expectError } from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { dbRow, eventually } from '../support/pg.js';
import { rememberSecret } from '../support/secrets.js';
import { startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';

/**
 * SECRET_KEY rotation and mail: during a rolling rotation old and new
 * instances share mail_outbox and the email_tokens table. With the old key in
 * SECRET_KEY_PREVIOUS, links mailed before the rotation keep working and mail
 * sealed under the old key is still delivered; an instance that holds no key
 * for a payload leaves it pending instead of dropping it.
 *
 * Several services share one database here: each case closes the services
 * it no longer needs before the next one may touch the same rows, so which
 * instance acted on a row is never a race.
 */

// Keys of this suite only, so no other suite's service can open this mail.
const KEY_A = 'rotation-mail-key-A-0123456789abcdefghijklmnopqrstuvwxyz';
const KEY_B = 'rotation-mail-key-B-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210';
rememberSecret(KEY_A, KEY_B);

const smtp = () => testGlobals().smtp;

/** A loopback port nothing listens on: SMTP there is refused (a mail outage for one instance). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

interface OutboxRow {
  id: string;
  attempts: number;
  payload: string;
  sent_at: Date | null;
  failed_at: Date | null;
  last_error: string | null;
}
const outboxRow = (id: string) =>
  dbRow<OutboxRow>('select id, attempts, payload, sent_at, failed_at, last_error from mail_outbox where id = $1', [id]);

/** The mail_ids of the verify_email mails `svc` logged `msg` about (other suites' pending mail may appear too). */
function mailIdsLogged(svc: TestService, msg: string): string[] {
  const ids: string[] = [];
  for (const line of svc.logs) {
    const entry = JSON.parse(line) as { msg?: string; mail_id?: string; template?: string };
    if (entry.msg === msg && entry.template === 'verify_email' && entry.mail_id) ids.push(entry.mail_id);
  }
  return ids;
}

const s = suite('ops: key rotation and mail');

s('a verification link mailed under key A verifies with A in SECRET_KEY_PREVIOUS, and not without it', async () => {
  const email = uniqueEmail('rot-verify');
  const password = strongPassword();
  const before = await startService({ SECRET_KEY: KEY_A });
  let token: string;
  try {
    const reg = await mutation(before.url, 'auth.register', { email, password });
    assert.is(reg.status, 200, JSON.stringify(reg.body));
    token = linkToken(await smtp().waitFor(email, 'Verify your email'), 'verify-email');
  } finally {
    await before.close();
  }

  // Emergency rotation (no previous key): the link is dead, and not consumed.
  const newOnly = await startService({ SECRET_KEY: KEY_B });
  try {
    expectError(await mutation(newOnly.url, 'auth.verifyEmail', { token }), 'BAD_REQUEST', 'INVALID_TOKEN');
  } finally {
    await newOnly.close();
  }

  const rotated = await startService({ SECRET_KEY: KEY_B, SECRET_KEY_PREVIOUS: KEY_A });
  try {
    const verified = await mutation(rotated.url, 'auth.verifyEmail', { token });
    assert.is(verified.status, 200, JSON.stringify(verified.body));
    const login = await mutation<TokenPair>(rotated.url, 'auth.login', { email, password });
    assert.is(login.status, 200, 'the account is verified');
    // Used once, the link is spent under every key.
    expectError(await mutation(rotated.url, 'auth.verifyEmail', { token }), 'BAD_REQUEST', 'INVALID_TOKEN');
  } finally {
    await rotated.close();
  }
});

s('a reset link mailed under key A works after rotation with A in SECRET_KEY_PREVIOUS', async () => {
  const before = await startService({ SECRET_KEY: KEY_A });
  let token: string;
  let email: string;
  try {
    ({ email } = await createVerifiedUser(before.url));
    const res = await mutation(before.url, 'auth.requestPasswordReset', { email });
    assert.is(res.status, 200);
    token = linkToken(await smtp().waitFor(email, 'Reset your password'), 'reset-password');
  } finally {
    await before.close();
  }
  const newPassword = strongPassword();

  const newOnly = await startService({ SECRET_KEY: KEY_B });
  try {
    expectError(
      await mutation(newOnly.url, 'auth.resetPassword', { token, newPassword }),
      'BAD_REQUEST',
      'INVALID_TOKEN',
    );
  } finally {
    await newOnly.close();
  }

  const rotated = await startService({ SECRET_KEY: KEY_B, SECRET_KEY_PREVIOUS: KEY_A });
  try {
    const reset = await mutation(rotated.url, 'auth.resetPassword', { token, newPassword });
    assert.is(reset.status, 200, JSON.stringify(reset.body));
    assert.is((await mutation(rotated.url, 'auth.login', { email, password: newPassword })).status, 200);
  } finally {
    await rotated.close();
  }
});

s(
  'mail sealed under key A is kept pending by a key-B-only instance and delivered by one holding A as previous',
  async () => {
    const email = uniqueEmail('rot-outbox');
    const password = strongPassword();

    // 1. An old instance (key A) whose SMTP is unreachable enqueues the mail.
    const before = await startService({ SECRET_KEY: KEY_A, SMTP_PORT: String(await closedPort()) });
    let mailId: string;
    try {
      const reg = await mutation(before.url, 'auth.register', { email, password });
      assert.is(reg.status, 200, JSON.stringify(reg.body));
      // Only this suite seals under key A, and the earlier cases' mail was delivered: the one SMTP failure is ours.
      mailId = await eventually(
        'a failed delivery by the key-A instance',
        async () => mailIdsLogged(before, 'mail delivery failed, will retry')[0],
      );
    } finally {
      await before.close();
    }
    const pending = (await outboxRow(mailId))!;
    assert.is(pending.sent_at, null);
    assert.is(pending.failed_at, null);

    // 2. An instance with key B only cannot open it: it must retry, not drop.
    const newOnly = await startService({ SECRET_KEY: KEY_B });
    try {
      await eventually('the key-B-only instance to try the key-A mail', async () =>
        mailIdsLogged(newOnly, 'mail payload sealed under an unknown key, will retry').includes(mailId),
      );
      const row = (await outboxRow(mailId))!;
      assert.is(row.failed_at, null, 'key-A mail is not marked failed by an instance without key A');
      assert.is(row.sent_at, null);
      assert.ok(row.payload.length > 0, 'the sealed payload is kept');
      assert.ok(row.attempts > pending.attempts, 'the attempt was counted (normal backoff)');
      assert.match(row.last_error ?? '', /key/);
    } finally {
      await newOnly.close();
    }
    assert.is(smtp().all(email).length, 0, 'nothing delivered so far');

    // 3. A rotated instance (B, previous A) opens and delivers it.
    const rotated = await startService({ SECRET_KEY: KEY_B, SECRET_KEY_PREVIOUS: KEY_A });
    try {
      const mail = await smtp().waitFor(email, 'Verify your email');
      const sent = await eventually('sent_at recorded', async () => {
        const row = await outboxRow(mailId);
        return row?.sent_at ? row : undefined;
      });
      assert.is(sent.failed_at, null);
      assert.is(smtp().all(email, 'Verify your email').length, 1, 'delivered once');
      const token = linkToken(mail, 'verify-email');
      const verified = await mutation(rotated.url, 'auth.verifyEmail', { token });
      assert.is(verified.status, 200, JSON.stringify(verified.body));
      // No instance logged the link while the mail waited.
      for (const svc of [before, newOnly, rotated]) assert.not.ok(svc.logs.join('\n').includes(token));
    } finally {
      await rotated.close();
    }
  },
);

s.run();
