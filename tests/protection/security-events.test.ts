import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { dbRows } from '../support/pg.js';
import { rememberSecret } from '../support/secrets.js';
import { startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { createVerifiedUser, strongPassword, uniqueEmail, type TestUser } from '../support/users.js';

/**
 * The audit trail (docs/security-events.md): a scenario walks every flow that must
 * leave an event, then each event type is checked for its JSON line (fields,
 * SECURITY_EVENT vs SECURITY_ALERT, masked email, no secret) and its row.
 */

const DOCUMENTED_TYPES = [
  'user_registration',
  'email_verified',
  'auth_success',
  'auth_failure',
  'account_lockout',
  'account_unlocked',
  'token_refresh',
  'refresh_token_reuse',
  'logout',
  'session_revoked',
  'password_changed',
  'password_reset_requested',
  'password_reset_completed',
  'rate_limit_exceeded',
  'admin_action',
] as const;
const ALERT_TYPES = new Set(['account_lockout', 'refresh_token_reuse', 'auth_failure_burst']);

type Line = Record<string, unknown>;
const SECRET_FIELD =
  /"(password|newPassword|currentPassword|new_password|token|refreshToken|refresh_token|accessToken|access_token|hashed_password|hashedPassword|token_hash|secret)":/;

function eventLines(svc: TestService): Line[] {
  return svc.logs
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.msg === 'SECURITY_EVENT' || l.msg === 'SECURITY_ALERT');
}

function freshIp(): string {
  const b = randomBytes(2);
  return `203.0.${(b[0]! % 100) + 100}.${(b[1]! % 250) + 1}`;
}

const s = suite<{ svc: TestService }>('security events');
s.before(async (ctx) => {
  ctx.svc = await startService({
    LOCKOUT_THRESHOLD: '3',
    REFRESH_REUSE_GRACE_SECONDS: '0',
    RATE_LIMIT_ENABLED: 'true',
    TRUST_PROXY: '1',
    RATE_LIMITS: JSON.stringify({
      'login.email': [5, 60],
      'login.ip': [100, 60],
      'register.ip': [100, 60],
      'reset.ip': [100, 60],
    }),
  });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

async function verifiedUser(svc: TestService): Promise<TestUser> {
  const user = await createVerifiedUser(svc.url);
  rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
  return user;
}

s('every documented event type is logged with the documented fields and stored as a row', async ({ svc }) => {
  // Registration, verification, login: user_registration, email_verified, auth_success.
  const alice = await verifiedUser(svc);

  // A second session, then refresh (token_refresh) and a replay after the grace window (refresh_token_reuse).
  const second = await mutation(svc.url, 'auth.login', { email: alice.email, password: alice.password });
  rememberSecret(second.data.accessToken, second.data.refreshToken);
  const rotated = await mutation(svc.url, 'auth.refresh', { refreshToken: second.data.refreshToken });
  assert.is(rotated.status, 200);
  rememberSecret(rotated.data.accessToken, rotated.data.refreshToken);
  const replay = await mutation(svc.url, 'auth.refresh', { refreshToken: second.data.refreshToken });
  assert.is(replay.error?.data.appCode, 'REFRESH_TOKEN_REUSED');

  // Another session revoked from the first (session_revoked), then logout (logout).
  const third = await mutation(svc.url, 'auth.login', { email: alice.email, password: alice.password });
  rememberSecret(third.data.accessToken, third.data.refreshToken);
  const sessions = await query(svc.url, 'sessions.list', undefined, { token: alice.tokens.accessToken });
  const other = (sessions.data as Array<{ id: string; current: boolean }>).find((x) => !x.current);
  assert.ok(other, 'a second live session');
  assert.is(
    (await mutation(svc.url, 'sessions.revoke', { sessionId: other!.id }, { token: alice.tokens.accessToken })).status,
    200,
  );
  assert.is((await mutation(svc.url, 'auth.logout', { refreshToken: alice.tokens.refreshToken })).status, 200);

  // Password change (password_changed) and reset (password_reset_requested, password_reset_completed).
  const bob = await verifiedUser(svc);
  const newPassword = strongPassword();
  rememberSecret(newPassword);
  const changed = await mutation(
    svc.url,
    'auth.changePassword',
    { currentPassword: bob.password, newPassword },
    { token: bob.tokens.accessToken },
  );
  assert.is(changed.status, 200, JSON.stringify(changed.body));
  rememberSecret(changed.data.accessToken, changed.data.refreshToken);
  assert.is((await mutation(svc.url, 'auth.requestPasswordReset', { email: bob.email })).status, 200);
  const mail = await testGlobals().smtp.waitFor(bob.email, 'Reset your password');
  const resetPassword = strongPassword();
  rememberSecret(resetPassword);
  const reset = await mutation(svc.url, 'auth.resetPassword', {
    token: linkToken(mail, 'reset-password'),
    newPassword: resetPassword,
  });
  assert.is(reset.status, 200, JSON.stringify(reset.body));

  // Failures up to the lockout (auth_failure, account_lockout), then an admin unlock (admin_action, account_unlocked).
  const carol = await verifiedUser(svc);
  for (let i = 0; i < 3; i++)
    await mutation(
      svc.url,
      'auth.login',
      { email: carol.email, password: strongPassword() },
      { headers: { 'x-forwarded-for': freshIp() } },
    );
  const admin = await verifiedUser(svc);
  await dbRows('update users set is_superuser = true where email = $1', [admin.email]);
  const adminLogin = await mutation(svc.url, 'auth.login', { email: admin.email, password: admin.password });
  rememberSecret(adminLogin.data.accessToken, adminLogin.data.refreshToken);
  const carolId = (await dbRows<{ id: string }>('select id from users where email = $1', [carol.email]))[0]!.id;
  const unlock = await mutation(
    svc.url,
    'admin.users.unlock',
    { userId: carolId },
    { token: adminLogin.data.accessToken },
  );
  assert.is(unlock.status, 200, JSON.stringify(unlock.body));

  // A rate-limit refusal (rate_limit_exceeded).
  const dave = uniqueEmail('dave');
  for (let i = 0; i < 6; i++)
    await mutation(
      svc.url,
      'auth.login',
      { email: dave, password: strongPassword() },
      { headers: { 'x-forwarded-for': freshIp() } },
    );

  const lines = eventLines(svc);
  const ids = lines.map((l) => String(l.event_id));
  const rows = await dbRows<{
    id: string;
    event_type: string;
    severity: string;
    outcome: string;
    details: Record<string, unknown>;
    request_id: string;
  }>('select id, event_type, severity, outcome, details, request_id from security_events where id = any($1::uuid[])', [
    ids,
  ]);
  const rowById = new Map(rows.map((r) => [r.id, r]));

  for (const type of DOCUMENTED_TYPES) {
    const mine = lines.filter((l) => l.event_type === type);
    assert.ok(mine.length > 0, `an event of type ${type}`);
    for (const line of mine) {
      const where = `${type} ${line.event_id}`;
      assert.is(line.msg, ALERT_TYPES.has(type) ? 'SECURITY_ALERT' : 'SECURITY_EVENT', where);
      assert.ok(['info', 'warning', 'critical'].includes(String(line.severity)), where);
      if (ALERT_TYPES.has(type)) assert.is(line.severity, 'critical', where);
      assert.ok(line.outcome === 'success' || line.outcome === 'failure', where);
      assert.match(String(line.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${where}: ts in ISO 8601 UTC`);
      assert.ok(typeof line.request_id === 'string' && line.request_id.length > 0, `${where}: request_id`);
      for (const key of ['trace_id', 'user_id', 'ip', 'email']) assert.ok(key in line, `${where}: has ${key}`);
      if (line.email !== null) assert.match(String(line.email), /^[^*@]\*\*\*@[^@]+$/, `${where}: masked email`);
      const raw = JSON.stringify(line);
      assert.not.match(raw, SECRET_FIELD, `${where}: no secret-bearing field`);
      assert.not.match(raw, /v4\.public\.|c2NyeXB0/, `${where}: no token or hash value`);
      const row = rowById.get(String(line.event_id));
      assert.ok(row, `${where}: stored as a row`);
      assert.is(row!.event_type, type);
      assert.is(row!.severity, line.severity);
      assert.is(row!.outcome, line.outcome);
      assert.is(row!.request_id, line.request_id);
      if (row!.details.email !== undefined)
        assert.is(row!.details.email, line.email, `${where}: the row holds the masked email too`);
    }
  }
  // The plaintext addresses never appear in the log.
  for (const email of [alice.email, bob.email, carol.email, dave, admin.email]) {
    assert.not.ok(
      svc.logs.some((l) => l.includes(email)),
      `${email} is only ever logged masked`,
    );
  }
  const failed = lines.find((l) => l.event_type === 'auth_failure');
  assert.is(failed!.outcome, 'failure');
  assert.is(lines.find((l) => l.event_type === 'auth_success')!.outcome, 'success');
});

s('ten failures from one IP within a minute raise one auth_failure_burst SECURITY_ALERT', async ({ svc }) => {
  const ip = freshIp();
  const from = { headers: { 'x-forwarded-for': ip } };
  for (let i = 0; i < 12; i++)
    await mutation(svc.url, 'auth.login', { email: uniqueEmail('spray'), password: strongPassword() }, from);
  const bursts = eventLines(svc).filter((l) => l.event_type === 'auth_failure_burst' && l.ip === ip);
  assert.is(bursts.length, 1, 'one alert per burst, not one per failure');
  assert.is(bursts[0]!.msg, 'SECURITY_ALERT');
  assert.is(bursts[0]!.severity, 'critical');
  const rows = await dbRows('select 1 from security_events where id = $1', [bursts[0]!.event_id]);
  assert.is(rows.length, 1);
  // Nine failures from another IP stay below the threshold.
  const quiet = freshIp();
  for (let i = 0; i < 9; i++)
    await mutation(
      svc.url,
      'auth.login',
      { email: uniqueEmail('spray'), password: strongPassword() },
      { headers: { 'x-forwarded-for': quiet } },
    );
  assert.is(eventLines(svc).filter((l) => l.event_type === 'auth_failure_burst' && l.ip === quiet).length, 0);
});

s.run();
