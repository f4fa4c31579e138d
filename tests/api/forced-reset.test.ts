import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  dbNow,
  expectError,
  openDb,
  outboxSettled,
  userRow,
  verifiedAccount,
  type TestDb,
} from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { strongPassword } from '../support/users.js';

/**
 * An operator's forced reset is not the user's own request: it leaves no
 * `password_reset_requested` event the user never made, and every older
 * reset link dies with the old password, also for an inactive account. A
 * reset link of an inactive account changes nothing.
 */
const s = suite<{ svc: TestService; db: TestDb }>('api: forced reset and inactive accounts');
s.before(async (ctx) => {
  ctx.svc = await startService();
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const actor = { id: null, label: 'cli:test', via: 'cli' as const };
const req = { requestId: 'forced-reset-test', ip: null, userAgent: null };

async function resetLink(svc: TestService, email: string): Promise<string> {
  const before = testGlobals().smtp.all(email, 'Reset your password').length;
  await mutation(svc.url, 'auth.requestPasswordReset', { email });
  for (;;) {
    const mails = testGlobals().smtp.all(email, 'Reset your password');
    if (mails.length > before) return linkToken(mails[mails.length - 1]!, 'reset-password');
    await new Promise((r) => setTimeout(r, 50));
  }
}

s(
  'a forced reset mails a new link, kills the older one, and records no request the user never made',
  async ({ svc, db }) => {
    const { email } = await verifiedAccount(svc.url);
    const older = await resetLink(svc, email);
    const user = (await userRow(db, email))!;
    const since = await dbNow(db);
    await svc.deps.admin.forcePasswordReset(svc.deps.sql(), actor, user.id, req);
    await outboxSettled(db, since);
    const requested = await db.rows(
      "select 1 from security_events where user_id = $1 and event_type = 'password_reset_requested' and created_at >= $2",
      [user.id, since],
    );
    assert.is(requested.length, 0, 'no password_reset_requested event for the operator action');
    expectError(
      await mutation(svc.url, 'auth.resetPassword', { token: older, newPassword: strongPassword() }),
      'BAD_REQUEST',
      'INVALID_TOKEN',
    );
    const mails = testGlobals().smtp.all(email, 'Reset your password');
    const fresh = linkToken(mails[mails.length - 1]!, 'reset-password');
    assert.is(
      (await mutation(svc.url, 'auth.resetPassword', { token: fresh, newPassword: strongPassword() })).status,
      200,
    );
  },
);

s('a forced reset of an inactive account invalidates its older reset links', async ({ svc, db }) => {
  const { email } = await verifiedAccount(svc.url);
  await resetLink(svc, email);
  const user = (await userRow(db, email))!;
  await db.rows('update users set is_active = false where id = $1', [user.id]);
  await svc.deps.admin.forcePasswordReset(svc.deps.sql(), actor, user.id, req);
  const live = await db.rows(
    "select 1 from email_tokens where user_id = $1 and purpose = 'reset_password' and used_at is null",
    [user.id],
  );
  assert.is(live.length, 0, 'no reset link of the inactive account still works');
});

s('a reset link of an account disabled since it was mailed changes nothing', async ({ svc, db }) => {
  const { email } = await verifiedAccount(svc.url);
  const link = await resetLink(svc, email);
  const user = (await userRow(db, email))!;
  await db.rows('update users set is_active = false where id = $1', [user.id]);
  expectError(
    await mutation(svc.url, 'auth.resetPassword', { token: link, newPassword: strongPassword() }),
    'BAD_REQUEST',
    'INVALID_TOKEN',
  );
  assert.is((await userRow(db, email))!.hashed_password, user.hashed_password, 'password unchanged');
});

s.run();
