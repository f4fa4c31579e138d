import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../../server/email/sealed-payload.js';
import type { MailMessage } from '../../server/email/templates.js';
import { Keyring } from '../../server/security/keyring.js';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { dbRow, dbRows, eventually } from '../support/pg.js';
import { baseTestEnv, startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

/**
 * A mail server outage: requests still succeed, mail waits in the outbox
 * (encrypted), is retried with backoff, and arrives once SMTP is back.
 */

interface OutboxRow {
  id: string;
  template: string;
  payload: string;
  attempts: number;
  next_attempt_at: Date;
  sent_at: Date | null;
  failed_at: Date | null;
  last_error: string | null;
  created_at: Date;
}

const outboxKey = new Keyring(baseTestEnv().SECRET_KEY!).outboxKey;
function decrypt(payload: string): MailMessage | undefined {
  try {
    return JSON.parse(open(outboxKey, payload)) as MailMessage;
  } catch {
    return undefined; // another suite's key, or already erased
  }
}

/** The outbox row holding a pending message to `to` (found by decrypting, as only the service can). */
async function pendingRowFor(to: string): Promise<OutboxRow | undefined> {
  const rows = await dbRows<OutboxRow>(
    "select * from mail_outbox where sent_at is null and failed_at is null and created_at > now() - interval '10 minutes'",
  );
  return rows.find((r) => decrypt(r.payload)?.to === to);
}

const s = suite<{ svc: TestService }>('api: mail outage');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

s('during an SMTP outage sign-up succeeds, mail is retried, and arrives when SMTP is back', async ({ svc }) => {
  const smtp = testGlobals().smtp;
  const port = smtp.port;
  const email = uniqueEmail('outage');
  let down = false;
  try {
    await smtp.stop();
    down = true;

    const reg = await mutation(svc.url, 'auth.register', { email, password: strongPassword() });
    assert.is(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(reg.data, { ok: true, verificationRequired: true });

    // Failed attempts are recorded, the message stays pending and is retried.
    const failing = await eventually('a second failed delivery attempt', async () => {
      const row = await pendingRowFor(email);
      return row && row.attempts >= 2 && row.last_error ? row : undefined;
    });
    assert.is(failing.template, 'verify_email');
    assert.is(failing.sent_at, null);
    assert.is(failing.failed_at, null);
    assert.ok(failing.next_attempt_at.getTime() - failing.created_at.getTime() < 24 * 3600 * 1000);
    assert.is(smtp.all(email).length, 0);

    // The stored message is sealed: no token, link or address in the clear.
    const message = decrypt(failing.payload)!;
    const token = /token=([A-Za-z0-9_-]+)/.exec(message.text)?.[1];
    assert.ok(token, 'the sealed message carries the verification link');
    const stored = JSON.stringify(failing);
    for (const secret of [token!, message.link ?? '', email, 'verify-email']) {
      if (secret) assert.not.ok(stored.includes(secret), `outbox row contains ${secret.slice(0, 12)}...`);
    }
    assert.not.ok(Buffer.from(failing.payload, 'base64url').toString('latin1').includes(token!));

    // Each failure is logged, without the link.
    const failures = svc.logs.filter((l) => l.includes('mail delivery failed') && l.includes(failing.id));
    assert.ok(failures.length >= 1, 'failure logged');
    assert.not.ok(svc.logs.join('\n').includes(token!));

    await smtp.start(port);
    down = false;
    const mail = await smtp.waitFor(email, 'Verify your email', 15_000);
    assert.is(linkToken(mail, 'verify-email'), token);

    // Delivered: the payload (with its link) is erased.
    const sent = await eventually('sent_at recorded', () =>
      dbRow<OutboxRow>('select * from mail_outbox where id = $1 and sent_at is not null', [failing.id]),
    );
    assert.is(sent.payload, '');
    assert.is(sent.failed_at, null);
    assert.is(smtp.all(email, 'Verify your email').length, 1, 'delivered once');

    // The late link still works.
    const verified = await mutation(svc.url, 'auth.verifyEmail', { token });
    assert.is(verified.status, 200, JSON.stringify(verified.body));
  } finally {
    // Other suites need the capture server back on its port.
    if (down) await smtp.start(port);
  }
});

s('password-reset requests during an outage also answer ok and are delivered later', async ({ svc }) => {
  const smtp = testGlobals().smtp;
  const port = smtp.port;
  const email = uniqueEmail('outage-reset');
  const password = strongPassword();
  await mutation(svc.url, 'auth.register', { email, password });
  await smtp.waitFor(email, 'Verify your email');
  let down = false;
  try {
    await smtp.stop();
    down = true;
    const res = await mutation(svc.url, 'auth.requestPasswordReset', { email });
    assert.is(res.status, 200);
    assert.equal(res.data, { ok: true });
    await eventually('a failed attempt', async () => {
      const row = await pendingRowFor(email);
      return row && row.attempts >= 1 && row.last_error ? row : undefined;
    });
    await smtp.start(port);
    down = false;
    const mail = await smtp.waitFor(email, 'Reset your password', 15_000);
    assert.ok(linkToken(mail, 'reset-password'));
  } finally {
    if (down) await smtp.start(port);
  }
});

s.run();
