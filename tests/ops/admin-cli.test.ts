import os from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMANDS, commandHelp } from '../../server/cli/commands.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';
import { dbRows, freshDatabase, lockByFailedLogins } from './admin-support.js';
import { admin, cliEnv, run } from './cli-support.js';

const s = suite<{ svc: TestService }>('admin CLI');
s.before(async (ctx) => {
  ctx.svc = await startService({ LOCKOUT_THRESHOLD: '3' });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const OPERATOR = `cli:${os.userInfo().username}`;

/** The admin_action rows the CLI wrote for a user (the audit trail an operator leaves). */
async function cliAudit(userId: string): Promise<Array<Record<string, unknown>>> {
  const rows = await dbRows<{ details: Record<string, unknown> }>(
    `select details from security_events where user_id = $1 and event_type = 'admin_action' order by created_at`,
    [userId],
  );
  return rows.map((r) => r.details);
}

function assertAudited(details: Array<Record<string, unknown>>, action: string, userId: string): void {
  const ev = details.find((d) => d.action === action);
  assert.ok(ev, `no admin_action ${action}`);
  assert.is(ev!.actor_id, OPERATOR);
  assert.is(ev!.via, 'cli');
  assert.is(ev!.target_id, userId);
}

s('--help lists every operator command and each command explains itself', async () => {
  const help = await admin(['--help']);
  assert.is(help.code, 0, help.stderr);
  const names = [
    'create-superuser',
    'unlock',
    'promote',
    'demote',
    'disable',
    'enable',
    'force-reset',
    'revoke-sessions',
    'reset-mfa',
    'migrate',
  ];
  for (const n of names) assert.match(help.stdout, new RegExp(`^  ${n}\\b`, 'm'));
  for (const c of COMMANDS) {
    const text = commandHelp(c);
    assert.match(text, `Usage: npm run admin -- ${c.name}`);
    assert.match(text, 'Exit codes');
  }
  const one = await admin(['force-reset', '--help']);
  assert.is(one.code, 0);
  assert.match(one.stdout, 'Usage: npm run admin -- force-reset <email>');
  assert.match(one.stdout, 'reset');
});

s('bad usage exits 2 and an unknown email exits 1, each with a clear message', async () => {
  const unknownCommand = await admin(['frobnicate', 'a@example.com']);
  assert.is(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, 'unknown command "frobnicate"');
  const notEmail = await admin(['unlock', 'not-an-email']);
  assert.is(notEmail.code, 2);
  assert.match(notEmail.stderr, 'not an email address');
  const missing = await admin(['promote']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, 'usage: npm run admin -- promote <email>');
  const email = uniqueEmail('ghost');
  const unknown = await admin(['disable', email]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, `no user with email ${email}`);
  assert.is.not(unknown.stderr.includes('at '), true, 'no stack trace');
});

s(
  'create-superuser takes the password from stdin, applies the policy, and refuses an existing email',
  async ({ svc }) => {
    const email = uniqueEmail('root');
    const weak = await admin(['create-superuser', email], { stdin: 'password123\n' });
    assert.is(weak.code, 1);
    assert.match(weak.stderr, /password refused \(too_short\): use at least 15 characters/);
    const notCreated = await dbRows('select 1 from users where email = $1', [email]);
    assert.is(notCreated.length, 0);

    const password = strongPassword();
    const made = await admin(['create-superuser', email.toUpperCase()], {
      stdin: `${password}\nignored second line\n`,
    });
    assert.is(made.code, 0, made.stderr);
    assert.match(made.stdout, `created superuser ${email}`);
    assert.not.ok((made.stdout + made.stderr).includes(password), 'the password is never printed');

    // A verified superuser: logs in at once and may use the admin API.
    const login = await mutation(svc.url, 'auth.login', { email, password });
    assert.is(login.status, 200, JSON.stringify(login.body));
    assert.is(login.data.user.isSuperuser, true);
    assert.is(login.data.user.emailVerified, true);
    const list = await query(svc.url, 'admin.users.list', { limit: 1 }, { token: login.data.accessToken });
    assert.is(list.status, 200);
    assertAudited(await cliAudit(login.data.user.id), 'users.createSuperuser', login.data.user.id);

    const again = await admin(['create-superuser', email], { stdin: `${strongPassword()}\n` });
    assert.is(again.code, 1);
    assert.match(again.stderr, 'already exists; nothing changed');
    assert.is(
      (await mutation(svc.url, 'auth.login', { email, password })).status,
      200,
      'the password was not replaced',
    );
  },
);

s('unlock clears the lockouts rows and the counters; the user logs in right after', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const id = user.tokens.user.id;
  assert.is(await lockByFailedLogins(svc.url, user.email, 3), 'ACCOUNT_LOCKED');
  assert.is(
    (await mutation(svc.url, 'auth.login', { email: user.email, password: user.password })).error?.data.appCode,
    'ACCOUNT_LOCKED',
  );

  const r = await admin(['unlock', user.email]);
  assert.is(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `unlocked ${user.email.replace(/\./g, '\\.')}: lock cleared \\(was locked until [^)]+\\), 1 lockout released, failed attempts reset \\(were 3\\)`,
    ),
  );

  const [row] = await dbRows('select failed_attempts, locked_until from users where id = $1', [id]);
  assert.equal(row, { failed_attempts: 0, locked_until: null });
  const lockouts = await dbRows<{ released_at: Date | null; released_by: string }>(
    'select released_at, released_by from lockouts where user_id = $1',
    [id],
  );
  assert.is(lockouts.length, 1);
  assert.ok(lockouts[0]!.released_at);
  assert.is(lockouts[0]!.released_by, OPERATOR);

  assert.is((await mutation(svc.url, 'auth.login', { email: user.email, password: user.password })).status, 200);
  const unlocked = await dbRows(
    `select 1 from security_events where user_id = $1 and event_type = 'account_unlocked'`,
    [id],
  );
  assert.is(unlocked.length, 1);
  assertAudited(await cliAudit(id), 'users.unlock', id);
});

s('promote and demote change admin rights; tokens with the old right die at once', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const id = user.tokens.user.id;
  const up = await admin(['promote', user.email]);
  assert.is(up.code, 0, up.stderr);
  assert.match(up.stdout, `promoted ${user.email} to superuser`);
  assert.is((await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken })).status, 401);
  const login = await mutation(svc.url, 'auth.login', { email: user.email, password: user.password });
  const token = login.data.accessToken;
  assert.is((await query(svc.url, 'admin.users.list', { limit: 1 }, { token })).status, 200);

  const down = await admin(['demote', user.email]);
  assert.is(down.code, 0, down.stderr);
  assert.match(down.stdout, `demoted ${user.email}`);
  assert.is((await query(svc.url, 'admin.users.list', { limit: 1 }, { token })).status, 401);
  const relogin = await mutation(svc.url, 'auth.login', { email: user.email, password: user.password });
  assert.is(
    (await query(svc.url, 'admin.users.list', { limit: 1 }, { token: relogin.data.accessToken })).error?.data.appCode,
    'FORBIDDEN',
  );
  const audit = await cliAudit(id);
  assertAudited(audit, 'users.promote', id);
  assertAudited(audit, 'users.demote', id);
});

s('disable refuses the live access token at once and ends sessions; enable restores login', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const id = user.tokens.user.id;
  const off = await admin(['disable', user.email]);
  assert.is(off.code, 0, off.stderr);
  assert.match(off.stdout, `disabled ${user.email}: logins refused, 1 session ended`);
  const me = await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken });
  assert.is(me.status, 401);
  assert.is(me.error?.data.appCode, 'UNAUTHENTICATED');
  assert.is((await mutation(svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken })).status, 401);
  assert.is(
    (await mutation(svc.url, 'auth.login', { email: user.email, password: user.password })).error?.data.appCode,
    'INVALID_CREDENTIALS',
  );

  const on = await admin(['enable', user.email]);
  assert.is(on.code, 0, on.stderr);
  assert.match(on.stdout, `enabled ${user.email}`);
  assert.is((await mutation(svc.url, 'auth.login', { email: user.email, password: user.password })).status, 200);
  const audit = await cliAudit(id);
  assertAudited(audit, 'users.disable', id);
  assertAudited(audit, 'users.enable', id);
});

s('force-reset: old password refused, sessions ended, the reset email arrives and works', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const id = user.tokens.user.id;
  const r = await admin(['force-reset', user.email]);
  assert.is(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `forced a password reset for ${user.email.replace(/\./g, '\\.')}: password unusable, 1 session ended, reset email (sent|queued)`,
    ),
  );
  assert.is((await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken })).status, 401);
  assert.is(
    (await mutation(svc.url, 'auth.login', { email: user.email, password: user.password })).error?.data.appCode,
    'INVALID_CREDENTIALS',
  );
  const mail = await testGlobals().smtp.waitFor(user.email, 'Reset your password');
  const newPassword = strongPassword();
  assert.is(
    (await mutation(svc.url, 'auth.resetPassword', { token: linkToken(mail, 'reset-password'), newPassword })).status,
    200,
  );
  assert.is((await mutation(svc.url, 'auth.login', { email: user.email, password: newPassword })).status, 200);
  assertAudited(await cliAudit(id), 'users.forcePasswordReset', id);
});

s('revoke-sessions ends every session and says how many', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const second = await mutation(svc.url, 'auth.login', { email: user.email, password: user.password });
  const r = await admin(['revoke-sessions', user.email]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `ended 2 sessions of ${user.email}`);
  for (const t of [user.tokens, second.data]) {
    assert.is((await query(svc.url, 'auth.me', undefined, { token: t.accessToken })).status, 401);
    assert.is((await mutation(svc.url, 'auth.refresh', { refreshToken: t.refreshToken })).status, 401);
  }
  assert.is(
    (await mutation(svc.url, 'auth.login', { email: user.email, password: user.password })).status,
    200,
    'the password still works',
  );
  assertAudited(await cliAudit(user.tokens.user.id), 'users.revokeSessions', user.tokens.user.id);
});

s(
  'migrate: npm run migrate applies every migration to a fresh database; commands refuse a schema that is behind',
  async () => {
    const fresh = await freshDatabase('cli_migrate');
    try {
      const behind = await admin(['unlock', uniqueEmail()], { env: cliEnv({ DATABASE_URL: fresh.url }) });
      assert.is(behind.code, 1);
      assert.match(
        behind.stderr,
        /schema is behind \(\d+ pending migrations?: Migration\d+(, Migration\d+)*\); run `npm run migrate` first/,
      );

      const first = await run('npm', ['run', '-s', 'migrate'], { env: cliEnv({ DATABASE_URL: fresh.url }) });
      assert.is(first.code, 0, first.stderr);
      assert.match(first.stdout, /^applied Migration\d+$/m);
      assert.match(first.stdout, /\d+ migration\(s\) applied/);
      const tables = await dbRows<{ n: string }>(
        `select count(*) as n from pg_tables where tablename = any($1)`,
        [['users', 'lockouts', 'refresh_tokens', 'email_tokens', 'security_events']],
        fresh.url,
      );
      assert.is(tables[0]!.n, '5', 'the fresh database now has the schema');

      const again = await admin(['migrate'], { env: cliEnv({ DATABASE_URL: fresh.url }) });
      assert.is(again.code, 0, again.stderr);
      assert.match(again.stdout, 'no pending migrations: the schema is up to date');
    } finally {
      await fresh.drop();
    }
  },
);

s.run();
