import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { dbRow, dbRows } from '../support/pg.js';
import { mutation } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { uniqueEmail } from '../support/users.js';

/**
 * Tables that would otherwise only grow: one login_throttles row per address
 * an attacker sprays, and delivered mail. The maintenance pass prunes them
 * without touching rows that still matter.
 */
const s = suite<{ svc: TestService }>('db: maintenance');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const throttleOf = (svc: TestService, email: string) => svc.deps.keyring.lookupDigest('login-throttle', email);
const exists = async (digest: string) =>
  (await dbRow('select 1 as ok from login_throttles where email_digest = $1', [digest])) !== undefined;

s('stale anonymous throttles are pruned; recent or still-locked ones stay', async ({ svc }) => {
  const stale = uniqueEmail('spray');
  const recent = uniqueEmail('spray');
  const locked = uniqueEmail('spray');
  for (const email of [stale, recent, locked]) {
    const r = await mutation(svc.url, 'auth.login', { email, password: 'not-the-password-at-all' });
    assert.is(r.error?.data.appCode, 'INVALID_CREDENTIALS');
  }
  const [dStale, dRecent, dLocked] = [stale, recent, locked].map((e) => throttleOf(svc, e));
  for (const d of [dStale, dRecent, dLocked])
    assert.ok(await exists(d!), 'a failed login for an unknown email leaves a throttle row');

  await dbRows(`update login_throttles set updated_at = now() - interval '25 hours' where email_digest = any($1)`, [
    [dStale, dLocked],
  ]);
  await dbRows(`update login_throttles set locked_until = now() + interval '10 minutes' where email_digest = $1`, [
    dLocked,
  ]);

  const pruned = await svc.deps.maintenance.runOnce();
  assert.ok(pruned.throttles >= 1);
  assert.not.ok(await exists(dStale!), 'untouched for a day and unlocked: pruned');
  assert.ok(await exists(dRecent!), 'recent: kept (it still counts toward a lockout)');
  assert.ok(await exists(dLocked!), 'still locked: kept');
});

s('delivered mail is pruned after its retention; pending mail never is', async ({ svc }) => {
  const id1 = await svc.deps.repos.mailOutbox.enqueue(
    svc.deps.sql(),
    'test',
    'sealed-' + randomBytes(4).toString('hex'),
    new Date(Date.now() + 3600_000),
  );
  const id2 = await svc.deps.repos.mailOutbox.enqueue(
    svc.deps.sql(),
    'test',
    'sealed-' + randomBytes(4).toString('hex'),
    new Date(Date.now() + 3600_000),
  );
  // id1: delivered eight days ago; id2: pending (next attempt in an hour).
  await dbRows(`update mail_outbox set sent_at = now() - interval '8 days', payload = '' where id = $1`, [id1]);
  await svc.deps.maintenance.runOnce();
  assert.is(await dbRow('select id from mail_outbox where id = $1', [id1]), undefined);
  assert.ok(await dbRow('select id from mail_outbox where id = $1', [id2]));
  await dbRows('delete from mail_outbox where id = $1', [id2]);
});

s.run();
