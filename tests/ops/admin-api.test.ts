import { randomBytes, randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AdminUser, PagedResult, SecurityEventItem } from '../../shared/dto.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';
import { createSuperuser, dbRows, lockByFailedLogins } from './admin-support.js';

interface Ctx {
  svc: TestService;
  admin: Awaited<ReturnType<typeof createSuperuser>>;
}

const s = suite<Ctx>('admin API');
s.before(async (ctx) => {
  ctx.svc = await startService({ LOCKOUT_THRESHOLD: '3' });
  ctx.admin = await createSuperuser(ctx.svc);
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const asAdmin = (ctx: Ctx) => ({ token: ctx.admin.tokens.accessToken });

async function adminEvents(ctx: Ctx, input: Record<string, unknown>): Promise<SecurityEventItem[]> {
  const r = await query<PagedResult<SecurityEventItem>>(ctx.svc.url, 'admin.securityEvents.list', input, asAdmin(ctx));
  assert.is(r.status, 200, JSON.stringify(r.body));
  return r.data.items;
}

/** The admin_action event for `action` on `targetId`, naming the acting superuser. */
async function assertAudited(ctx: Ctx, targetId: string, action: string): Promise<void> {
  const items = await adminEvents(ctx, { userId: targetId, type: 'admin_action', limit: 50 });
  const ev = items.find((e) => e.details.action === action);
  assert.ok(ev, `no admin_action ${action} for ${targetId}`);
  assert.is(ev!.userId, targetId);
  assert.is(ev!.details.target_id, targetId);
  assert.is(ev!.details.actor_id, ctx.admin.id);
  assert.is(ev!.details.via, 'api');
}

const EVERY_PROCEDURE: Array<[kind: 'query' | 'mutation', path: string, input: unknown]> = [
  ['query', 'admin.users.list', {}],
  ['query', 'admin.users.get', { userId: randomUUID() }],
  ['mutation', 'admin.users.unlock', { userId: randomUUID() }],
  ['mutation', 'admin.users.setSuperuser', { userId: randomUUID(), isSuperuser: true }],
  ['mutation', 'admin.users.setActive', { userId: randomUUID(), isActive: false }],
  ['mutation', 'admin.users.revokeSessions', { userId: randomUUID() }],
  ['mutation', 'admin.users.forcePasswordReset', { userId: randomUUID() }],
  ['query', 'admin.securityEvents.list', {}],
];

s('a normal user gets FORBIDDEN from every admin procedure; no token gets UNAUTHENTICATED', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  for (const [kind, path, input] of EVERY_PROCEDURE) {
    const call = kind === 'query' ? query : mutation;
    const r = await call(svc.url, path, input, { token: user.tokens.accessToken });
    assert.is(r.status, 403, path);
    assert.is(r.error?.code, -32003, path);
    assert.is(r.error?.data.appCode, 'FORBIDDEN', path);
    const anon = await call(svc.url, path, input);
    assert.is(anon.status, 401, path);
    assert.is(anon.error?.data.appCode, 'UNAUTHENTICATED', path);
  }
});

s('users.get finds a user by id or by email (normalised) and never returns the hash', async (ctx) => {
  const user = await createVerifiedUser(ctx.svc.url);
  const byId = await query<AdminUser>(ctx.svc.url, 'admin.users.get', { userId: user.tokens.user.id }, asAdmin(ctx));
  assert.is(byId.status, 200);
  assert.equal(Object.keys(byId.data).sort(), [
    'createdAt',
    'email',
    'emailVerified',
    'failedAttempts',
    'fullName',
    'id',
    'isActive',
    'isSuperuser',
    'lastLoginAt',
    'lockedUntil',
    'mfaEnabled',
  ]);
  assert.is(byId.data.mfaEnabled, false);
  assert.is(byId.data.email, user.email);
  assert.is(byId.data.isActive, true);
  assert.is(byId.data.emailVerified, true);
  assert.is(byId.data.failedAttempts, 0);
  assert.is(byId.data.lockedUntil, null);
  assert.type(byId.data.lastLoginAt, 'string');
  const byEmail = await query<AdminUser>(
    ctx.svc.url,
    'admin.users.get',
    { email: `  ${user.email.toUpperCase()} ` },
    asAdmin(ctx),
  );
  assert.is(byEmail.status, 200);
  assert.is(byEmail.data.id, user.tokens.user.id);
  assert.not.match(JSON.stringify(byEmail.body), /scrypt|hashed|password/i);

  const missing = await query(ctx.svc.url, 'admin.users.get', { email: uniqueEmail('nobody') }, asAdmin(ctx));
  assert.is(missing.status, 404);
  assert.is(missing.error?.data.appCode, 'NOT_FOUND');
  const bad = await query(ctx.svc.url, 'admin.users.get', { userId: 'not-a-uuid' }, asAdmin(ctx));
  assert.is(bad.status, 400);
  assert.is(bad.error?.data.appCode, 'INVALID_INPUT');
  await assertAudited(ctx, user.tokens.user.id, 'users.get');
});

s('users.list matches a part of the email case-insensitively and pages stably while users are added', async (ctx) => {
  const tag = `pg${randomBytes(4).toString('hex')}`;
  const register = async (i: number) => {
    const email = `${tag}.${i}@example.com`;
    const r = await mutation(ctx.svc.url, 'auth.register', { email, password: strongPassword() });
    assert.is(r.status, 200);
    return email;
  };
  const initial: string[] = [];
  for (let i = 0; i < 5; i++) initial.push(await register(i));

  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let added = 0;
  do {
    const r = await query<PagedResult<AdminUser>>(
      ctx.svc.url,
      'admin.users.list',
      { query: tag.toUpperCase(), limit: 2, ...(cursor ? { cursor } : {}) },
      asAdmin(ctx),
    );
    assert.is(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.data.items.length <= 2);
    seen.push(...r.data.items.map((u) => u.email));
    cursor = r.data.nextCursor ?? undefined;
    // New sign-ups between pages must neither repeat nor hide a row.
    if (pages++ < 2) await register(100 + added++);
  } while (cursor);

  assert.is(new Set(seen).size, seen.length, 'a row was repeated across pages');
  for (const e of initial) assert.ok(seen.includes(e), `${e} was skipped`);
  assert.is(seen.length, initial.length + added, 'rows added while paging appear once, at the end');
  assert.ok(seen.every((e) => e.startsWith(tag)));

  const nothing = await query<PagedResult<AdminUser>>(
    ctx.svc.url,
    'admin.users.list',
    { query: `${tag}-none` },
    asAdmin(ctx),
  );
  assert.equal(nothing.data, { items: [], nextCursor: null });
  const badCursor = await query(ctx.svc.url, 'admin.users.list', { cursor: 'not-a-cursor' }, asAdmin(ctx));
  assert.is(badCursor.status, 400);
  assert.is(badCursor.error?.data.appCode, 'INVALID_INPUT');
});

s('unlock clears the lockouts rows and the user counters, and the owner can log in again', async (ctx) => {
  const user = await createVerifiedUser(ctx.svc.url);
  const id = user.tokens.user.id;
  assert.is(await lockByFailedLogins(ctx.svc.url, user.email, 3), 'ACCOUNT_LOCKED');
  const locked = await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: user.password });
  assert.is(locked.error?.data.appCode, 'ACCOUNT_LOCKED');
  const before = await query<AdminUser>(ctx.svc.url, 'admin.users.get', { userId: id }, asAdmin(ctx));
  assert.type(before.data.lockedUntil, 'string');
  assert.ok(before.data.failedAttempts >= 3);

  const r = await mutation(ctx.svc.url, 'admin.users.unlock', { userId: id }, asAdmin(ctx));
  assert.is(r.status, 200);
  assert.equal(r.data, { ok: true });

  const [row] = await dbRows<{ failed_attempts: number; locked_until: Date | null }>(
    'select failed_attempts, locked_until from users where id = $1',
    [id],
  );
  assert.equal(row, { failed_attempts: 0, locked_until: null });
  const lockouts = await dbRows<{ released_at: Date | null; released_by: string | null }>(
    'select released_at, released_by from lockouts where user_id = $1',
    [id],
  );
  assert.is(lockouts.length, 1, 'the lockout row is kept (it drives the doubling)');
  assert.ok(lockouts[0]!.released_at);
  assert.is(lockouts[0]!.released_by, ctx.admin.id);

  const login = await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: user.password });
  assert.is(login.status, 200);
  const unlocked = await adminEvents(ctx, { userId: id, type: 'account_unlocked' });
  assert.is(unlocked.length, 1);
  assert.is(unlocked[0]!.details.released_by, ctx.admin.id);
  await assertAudited(ctx, id, 'users.unlock');

  const missing = await mutation(ctx.svc.url, 'admin.users.unlock', { userId: randomUUID() }, asAdmin(ctx));
  assert.is(missing.error?.data.appCode, 'NOT_FOUND');
});

s(
  'setActive(false) refuses the live access token at once, and the refresh token; enable lets the owner log in',
  async (ctx) => {
    const user = await createVerifiedUser(ctx.svc.url);
    const id = user.tokens.user.id;
    assert.is((await query(ctx.svc.url, 'auth.me', undefined, { token: user.tokens.accessToken })).status, 200);

    const off = await mutation(ctx.svc.url, 'admin.users.setActive', { userId: id, isActive: false }, asAdmin(ctx));
    assert.equal(off.data, { ok: true });
    const me = await query(ctx.svc.url, 'auth.me', undefined, { token: user.tokens.accessToken });
    assert.is(me.status, 401);
    assert.is(me.error?.data.appCode, 'UNAUTHENTICATED');
    const refresh = await mutation(ctx.svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
    assert.is(refresh.error?.data.appCode, 'INVALID_REFRESH_TOKEN');
    const login = await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: user.password });
    assert.is(login.error?.data.appCode, 'INVALID_CREDENTIALS');
    assert.is(
      (await query<AdminUser>(ctx.svc.url, 'admin.users.get', { userId: id }, asAdmin(ctx))).data.isActive,
      false,
    );

    const on = await mutation(ctx.svc.url, 'admin.users.setActive', { userId: id, isActive: true }, asAdmin(ctx));
    assert.equal(on.data, { ok: true });
    // Sessions of the disabled period stay ended.
    const stale = await mutation(ctx.svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
    assert.is(stale.error?.data.appCode, 'INVALID_REFRESH_TOKEN');
    const again = await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: user.password });
    assert.is(again.status, 200);
    await assertAudited(ctx, id, 'users.disable');
    await assertAudited(ctx, id, 'users.enable');

    const self = await mutation(
      ctx.svc.url,
      'admin.users.setActive',
      { userId: ctx.admin.id, isActive: false },
      asAdmin(ctx),
    );
    assert.is(self.status, 400);
    assert.is(self.error?.data.appCode, 'INVALID_INPUT');
  },
);

s('setSuperuser grants and takes the admin API; tokens with the old claim die at once', async (ctx) => {
  const user = await createVerifiedUser(ctx.svc.url);
  const id = user.tokens.user.id;
  const up = await mutation(ctx.svc.url, 'admin.users.setSuperuser', { userId: id, isSuperuser: true }, asAdmin(ctx));
  assert.equal(up.data, { ok: true });
  // The pre-promotion token (adm=false) is refused; a refreshed one carries adm=true.
  assert.is((await query(ctx.svc.url, 'auth.me', undefined, { token: user.tokens.accessToken })).status, 401);
  const refreshed = await mutation(ctx.svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
  assert.is(refreshed.status, 200);
  assert.is(refreshed.data.user.isSuperuser, true);
  const asNewAdmin = { token: refreshed.data.accessToken };
  assert.is((await query(ctx.svc.url, 'admin.users.list', { limit: 1 }, asNewAdmin)).status, 200);

  const down = await mutation(
    ctx.svc.url,
    'admin.users.setSuperuser',
    { userId: id, isSuperuser: false },
    asAdmin(ctx),
  );
  assert.equal(down.data, { ok: true });
  const refused = await query(ctx.svc.url, 'admin.users.list', { limit: 1 }, asNewAdmin);
  assert.is(refused.status, 401);
  await assertAudited(ctx, id, 'users.promote');
  await assertAudited(ctx, id, 'users.demote');

  const self = await mutation(
    ctx.svc.url,
    'admin.users.setSuperuser',
    { userId: ctx.admin.id, isSuperuser: false },
    asAdmin(ctx),
  );
  assert.is(self.error?.data.appCode, 'INVALID_INPUT');
  assert.is((await query(ctx.svc.url, 'admin.users.list', { limit: 1 }, asAdmin(ctx))).status, 200);
});

s('revokeSessions ends every session of the user and reports how many', async (ctx) => {
  const user = await createVerifiedUser(ctx.svc.url);
  const second = await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: user.password });
  const r = await mutation(ctx.svc.url, 'admin.users.revokeSessions', { userId: user.tokens.user.id }, asAdmin(ctx));
  assert.equal(r.data, { revoked: 2 });
  for (const t of [user.tokens, second.data]) {
    assert.is((await query(ctx.svc.url, 'auth.me', undefined, { token: t.accessToken })).status, 401);
    assert.is(
      (await mutation(ctx.svc.url, 'auth.refresh', { refreshToken: t.refreshToken })).error?.data.appCode,
      'INVALID_REFRESH_TOKEN',
    );
  }
  const again = await mutation(
    ctx.svc.url,
    'admin.users.revokeSessions',
    { userId: user.tokens.user.id },
    asAdmin(ctx),
  );
  assert.equal(again.data, { revoked: 0 });
  await assertAudited(ctx, user.tokens.user.id, 'users.revokeSessions');
});

s('forcePasswordReset: the password stops working, sessions end, and the emailed link sets a new one', async (ctx) => {
  const user = await createVerifiedUser(ctx.svc.url);
  const id = user.tokens.user.id;
  const sentBefore = testGlobals().smtp.all(user.email, 'Reset your password').length;
  const r = await mutation(ctx.svc.url, 'admin.users.forcePasswordReset', { userId: id }, asAdmin(ctx));
  assert.equal(r.data, { ok: true });
  assert.is((await query(ctx.svc.url, 'auth.me', undefined, { token: user.tokens.accessToken })).status, 401);
  assert.is((await mutation(ctx.svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken })).status, 401);
  const old = await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: user.password });
  assert.is(old.error?.data.appCode, 'INVALID_CREDENTIALS');

  const mail = await testGlobals().smtp.waitFor(user.email, 'Reset your password');
  assert.is(testGlobals().smtp.all(user.email, 'Reset your password').length, sentBefore + 1);
  const newPassword = strongPassword();
  const reset = await mutation(ctx.svc.url, 'auth.resetPassword', {
    token: linkToken(mail, 'reset-password'),
    newPassword,
  });
  assert.is(reset.status, 200);
  assert.is((await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: newPassword })).status, 200);
  await assertAudited(ctx, id, 'users.forcePasswordReset');
});

s('securityEvents.list filters by user, type and time, pages newest first, and names actor and target', async (ctx) => {
  const user = await createVerifiedUser(ctx.svc.url);
  const id = user.tokens.user.id;
  const since = new Date(Date.now() - 60_000).toISOString();
  for (let i = 0; i < 3; i++)
    await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: `Wrong-${i}-password-here` });
  await mutation(ctx.svc.url, 'admin.users.unlock', { userId: id }, asAdmin(ctx));

  const all = await adminEvents(ctx, { userId: id });
  assert.ok(all.every((e) => e.userId === id));
  for (const e of all) {
    assert.equal(Object.keys(e).sort(), [
      'createdAt',
      'details',
      'eventType',
      'id',
      'ip',
      'outcome',
      'severity',
      'userId',
    ]);
    assert.ok(!Number.isNaN(Date.parse(e.createdAt)));
  }
  const types = new Set(all.map((e) => e.eventType));
  for (const t of [
    'user_registration',
    'email_verified',
    'auth_success',
    'auth_failure',
    'account_lockout',
    'account_unlocked',
    'admin_action',
  ]) {
    assert.ok(types.has(t), `missing ${t}`);
  }
  const sorted = [...all].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  assert.equal(
    all.map((e) => e.id),
    sorted.map((e) => e.id),
    'newest first',
  );
  assert.not.match(JSON.stringify(all), new RegExp(user.email.replace(/[.]/g, '\\.')), 'emails are masked');

  const failures = await adminEvents(ctx, { userId: id, type: 'auth_failure' });
  assert.is(failures.length, 3);
  assert.ok(failures.every((e) => e.eventType === 'auth_failure' && e.outcome === 'failure'));
  const future = await adminEvents(ctx, { userId: id, since: new Date(Date.now() + 3_600_000).toISOString() });
  assert.is(future.length, 0);
  const recent = await adminEvents(ctx, { userId: id, since });
  assert.is(recent.length, all.length);

  // Pages of 2 cover the same events, none twice, even as new events are written between pages.
  const paged: string[] = [];
  let cursor: string | undefined;
  do {
    const r = await query<PagedResult<SecurityEventItem>>(
      ctx.svc.url,
      'admin.securityEvents.list',
      { userId: id, limit: 2, ...(cursor ? { cursor } : {}) },
      asAdmin(ctx),
    );
    paged.push(...r.data.items.map((e) => e.id));
    cursor = r.data.nextCursor ?? undefined;
    await mutation(ctx.svc.url, 'auth.login', { email: user.email, password: 'Another-wrong-password-1' });
  } while (cursor);
  assert.equal(
    paged,
    all.map((e) => e.id),
  );

  const audit = (await adminEvents(ctx, { userId: id, type: 'admin_action' })).find(
    (e) => e.details.action === 'users.unlock',
  );
  assert.ok(audit);
  assert.is(audit!.details.actor_id, ctx.admin.id);
  assert.is(audit!.details.target_id, id);
  assert.is(audit!.severity, 'warning');

  const bad = await query(ctx.svc.url, 'admin.securityEvents.list', { since: 'yesterday' }, asAdmin(ctx));
  assert.is(bad.error?.data.appCode, 'INVALID_INPUT');
});

s.run();
