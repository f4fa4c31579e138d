import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { dbRow, dbRows } from '../support/pg.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';

/**
 * The retention pass: ended sessions and used one-time tokens go
 * RETENTION_DAYS after they ended, audit rows after AUDIT_RETENTION_DAYS;
 * live sessions and recent rows stay, and instances take turns.
 */
const s = suite<{ svc: TestService }>('db: retention');
s.before(async (ctx) => {
  ctx.svc = await startService({ RETENTION_DAYS: '30', AUDIT_RETENTION_DAYS: '365' });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const sidOf = (accessToken: string): string => {
  const body = Buffer.from(accessToken.split('.')[2]!, 'base64url');
  return (JSON.parse(body.subarray(0, body.length - 64).toString('utf8')) as { sid: string }).sid;
};
const familyRows = async (sid: string) =>
  Number((await dbRow<{ n: string }>('select count(*) as n from refresh_tokens where family_id = $1', [sid]))!.n);

s('ended sessions go after RETENTION_DAYS; live and recently ended ones stay', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const live = sidOf(user.tokens.accessToken);
  const login = () => mutation<TokenPair>(svc.url, 'auth.login', { email: user.email, password: user.password });
  const oldRevoked = sidOf((await login()).data.accessToken);
  const recentRevoked = sidOf((await login()).data.accessToken);
  const oldExpired = sidOf((await login()).data.accessToken);
  await dbRows(
    `update refresh_tokens set revoked_at = now() - interval '31 days', revoked_reason = 'logout' where family_id = $1`,
    [oldRevoked],
  );
  await dbRows(
    `update refresh_tokens set revoked_at = now() - interval '2 days', revoked_reason = 'logout' where family_id = $1`,
    [recentRevoked],
  );
  await dbRows(`update refresh_tokens set expires_at = now() - interval '31 days' where family_id = $1`, [oldExpired]);
  // The live session's first row is older than the retention but its session has not ended.
  await dbRows(`update refresh_tokens set created_at = now() - interval '90 days' where family_id = $1`, [live]);

  const result = await svc.deps.maintenance.runOnce();
  assert.ok(result.ran);
  assert.ok(result.refreshTokens >= 2, `${result.refreshTokens} rows deleted`);
  assert.is(await familyRows(oldRevoked), 0, 'revoked 31 days ago: deleted');
  assert.is(await familyRows(oldExpired), 0, 'expired 31 days ago: deleted');
  assert.is(await familyRows(recentRevoked), 1, 'revoked 2 days ago: kept');
  assert.is(await familyRows(live), 1, 'live: kept');
  assert.is((await mutation(svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken })).status, 200);
});

s('used or expired one-time tokens go after RETENTION_DAYS; a pending one stays', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const id = (await dbRow<{ id: string }>('select id from users where email = $1', [user.email]))!.id;
  await mutation(svc.url, 'auth.requestPasswordReset', { email: user.email });
  await testGlobals().smtp.waitFor(user.email, 'Reset your password');
  // The verification token was used at sign-up: make that 31 days ago.
  await dbRows(
    `update email_tokens set used_at = now() - interval '31 days' where user_id = $1 and purpose = 'verify_email'`,
    [id],
  );
  await svc.deps.maintenance.runOnce();
  const left = await dbRows<{ purpose: string }>('select purpose from email_tokens where user_id = $1', [id]);
  assert.equal(
    left.map((r) => r.purpose),
    ['reset_password'],
  );
});

s('audit rows go after AUDIT_RETENTION_DAYS', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const id = (await dbRow<{ id: string }>('select id from users where email = $1', [user.email]))!.id;
  const before = Number(
    (await dbRow<{ n: string }>('select count(*) as n from security_events where user_id = $1', [id]))!.n,
  );
  assert.ok(before >= 2);
  await dbRows(
    `update security_events set created_at = now() - interval '366 days' where user_id = $1 and event_type = 'user_registration'`,
    [id],
  );
  const result = await svc.deps.maintenance.runOnce();
  assert.ok(result.securityEvents >= 1);
  const after = Number(
    (await dbRow<{ n: string }>('select count(*) as n from security_events where user_id = $1', [id]))!.n,
  );
  assert.is(after, before - 1);
});

s('AUDIT_RETENTION_DAYS=0 keeps audit rows for ever', async () => {
  const keep = await startService({ AUDIT_RETENTION_DAYS: '0' });
  try {
    const user = await createVerifiedUser(keep.url);
    const id = (await dbRow<{ id: string }>('select id from users where email = $1', [user.email]))!.id;
    await dbRows(`update security_events set created_at = now() - interval '4000 days' where user_id = $1`, [id]);
    const result = await keep.deps.maintenance.runOnce();
    assert.is(result.securityEvents, 0);
    assert.ok(await dbRow('select 1 from security_events where user_id = $1', [id]));
  } finally {
    await keep.close();
  }
});

s('instances take turns: while another holds the maintenance lock, a pass deletes nothing', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const sid = sidOf(user.tokens.accessToken);
  await dbRows(
    `update refresh_tokens set revoked_at = now() - interval '40 days', revoked_reason = 'logout' where family_id = $1`,
    [sid],
  );
  const other = new pg.Client({ connectionString: testGlobals().databaseUrl });
  await other.connect();
  try {
    const { rows } = await other.query("select pg_try_advisory_lock(hashtext('secure-auth maintenance')) as locked");
    assert.ok(rows[0].locked, 'the other instance holds the turn');
    const skipped = await svc.deps.maintenance.runOnce();
    assert.is(skipped.ran, false);
    assert.is(await familyRows(sid), 1, 'nothing deleted while the other instance runs');
    await other.query("select pg_advisory_unlock(hashtext('secure-auth maintenance'))");
    assert.ok((await svc.deps.maintenance.runOnce()).ran);
    assert.is(await familyRows(sid), 0);
  } finally {
    await other.end();
  }
});

s.run();
