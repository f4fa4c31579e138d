import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mutation, query } from '../support/http.js';
import { dbRow, dbRows, eventually } from '../support/pg.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';

/**
 * The audit trail leaves no gap an attacker would use: who called from
 * which client (user_agent), a non-superuser probing admin.* (access_denied),
 * a correctly signed access token of an ended session (revoked_token_used),
 * admin actions that commit only with their audit row, and a /metrics
 * scrape that does not become a database load.
 */
const s = suite<{ svc: TestService }>('protection: audit trail');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const agent = () => `audit-test/${randomBytes(4).toString('hex')}`;

s('every event line and row carries the request user_agent', async ({ svc }) => {
  const ua = agent();
  const user = await createVerifiedUser(svc.url);
  const login = await mutation(
    svc.url,
    'auth.login',
    { email: user.email, password: user.password },
    { headers: { 'user-agent': ua } },
  );
  assert.is(login.status, 200);
  const row = await dbRow<{ user_agent: string | null }>(
    "select user_agent from security_events where event_type = 'auth_success' and user_id = $1 order by created_at desc limit 1",
    [login.data.user.id],
  );
  assert.is(row?.user_agent, ua);
  const line = svc.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.event_type === 'auth_success' && l.user_agent === ua);
  assert.ok(line, 'the SECURITY_EVENT line names the user agent');
});

s('a non-superuser calling admin.* leaves an access_denied event', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const res = await query(svc.url, 'admin.users.list', undefined, { token: user.tokens.accessToken });
  assert.is(res.error?.data.appCode, 'FORBIDDEN');
  const row = await eventually<Record<string, any>>('access_denied row', () =>
    dbRow("select * from security_events where event_type = 'access_denied' and user_id = $1", [user.tokens.user.id]),
  );
  assert.is(row.outcome, 'failure');
  assert.is((row.details as { procedure?: string }).procedure, 'admin.users.list');
});

s('a correctly signed access token of an ended session leaves revoked_token_used', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  assert.is((await mutation(svc.url, 'auth.logout', { refreshToken: user.tokens.refreshToken })).status, 200);
  const res = await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken });
  assert.is(res.error?.data.appCode, 'UNAUTHENTICATED');
  const row = await eventually<Record<string, any>>('revoked_token_used row', () =>
    dbRow("select * from security_events where event_type = 'revoked_token_used' and user_id = $1", [
      user.tokens.user.id,
    ]),
  );
  assert.is(row.outcome, 'failure');
});

s('an admin action commits only together with its audit row', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const target = user.tokens.user.id;
  const fn = `fail_audit_${randomBytes(4).toString('hex')}`;
  // The audit row for this one target cannot be written.
  await dbRows(`create function ${fn}() returns trigger language plpgsql as $$
    begin
      if new.event_type = 'admin_action' and new.user_id = '${target}' then raise exception 'audit store refused'; end if;
      return new;
    end $$`);
  await dbRows(`create trigger ${fn} before insert on security_events for each row execute function ${fn}()`);
  try {
    let failed = false;
    try {
      await svc.deps.admin.revokeSessions(svc.deps.sql(), { id: null, label: 'cli:test', via: 'cli' }, target, {
        requestId: 'audit-test',
        ip: null,
        userAgent: null,
      });
    } catch {
      failed = true;
    }
    assert.ok(failed, 'the action reports the failure');
    const live = await dbRows('select 1 from refresh_tokens where user_id = $1 and revoked_at is null', [target]);
    assert.is(live.length, 1, 'the session was not ended without its audit row');
  } finally {
    await dbRows(`drop trigger ${fn} on security_events`);
    await dbRows(`drop function ${fn}()`);
  }
});

s('/metrics reads the database at most once per 30 s, whatever the scrape rate', async ({ svc }) => {
  const users = svc.deps.repos.users;
  const original = users.countActive.bind(users);
  let reads = 0;
  users.countActive = async (sql) => {
    reads++;
    return original(sql);
  };
  try {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${svc.url}/metrics`);
      assert.is(res.status, 200);
      assert.match(await res.text(), /active_users_total \d+/);
    }
    assert.is(reads, 1);
  } finally {
    users.countActive = original;
  }
});

s.run();
