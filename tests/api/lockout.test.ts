import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../support/clock.js';
import {
  dbNow,
  expectError,
  expectLocked,
  lockoutRows,
  login,
  loginOk,
  openDb,
  outboxSettled,
  userRow,
  verifiedAccount,
  type TestDb,
} from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation, type CallResult } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

// Threshold 3; first lockout 1 minute, doubling, capped at 3 minutes. The
// service runs on a clock the tests move forward: the database compares the
// times the app passes in, so no test sleeps through a lockout.
const ENV = { LOCKOUT_THRESHOLD: '3', LOCKOUT_MINUTES: '1', LOCKOUT_MAX_MINUTES: '3' };

const s = suite<{ svc: TestService; clock: ManualClock; db: TestDb }>('api: lockout');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService(ENV, { clock: ctx.clock });
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
  await ctx.db.close();
});

const smtp = () => testGlobals().smtp;

/** `n` wrong passwords in a row; returns the responses. */
async function failLogins(url: string, email: string, n: number): Promise<CallResult[]> {
  const out: CallResult[] = [];
  for (let i = 0; i < n; i++) out.push(await login(url, email, strongPassword()));
  return out;
}

/** Fails until locked; asserts the first threshold-1 failures are INVALID_CREDENTIALS and the last locks. */
async function lockOut(url: string, email: string): Promise<number> {
  const [a, b, c] = await failLogins(url, email, 3);
  for (const r of [a!, b!]) {
    expectError(r, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    assert.is(r.headers.get('retry-after'), null);
  }
  return expectLocked(c!);
}

s(
  'the failure that reaches the threshold already answers ACCOUNT_LOCKED with retryAfter and Retry-After',
  async ({ svc, db }) => {
    const { email } = await verifiedAccount(svc.url);
    const retryAfter = await lockOut(svc.url, email);
    assert.is(retryAfter, 60);
    const row = (await userRow(db, email))!;
    assert.is(row.failed_attempts, 3);
    assert.ok(row.locked_until && row.locked_until.getTime() > Date.now(), 'users.locked_until in the future');

    const rows = await lockoutRows(db, row.id);
    assert.is(rows.length, 1, 'one lockouts row');
    assert.is(rows[0]!.failed_attempts, 3);
    assert.is(rows[0]!.seconds, 60);
    assert.is(rows[0]!.released_at, null);
    assert.is(rows[0]!.released_by, null);
    assert.ok(
      (await db.row('select source_ip from lockouts where user_id = $1', [row.id])).source_ip,
      'source_ip recorded',
    );

    const mail = await smtp().waitFor(email, 'Your account was locked');
    assert.match(mail.text, /locked for 1 minute after/);
    const event = await db.row(
      `select severity, outcome from security_events where user_id = $1 and event_type = 'account_lockout'`,
      [row.id],
    );
    assert.ok(event, 'an account_lockout security event');
  },
);

s('while locked even the right password gets ACCOUNT_LOCKED, and no second lockout starts', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  await lockOut(svc.url, email);
  const right = await login(svc.url, email, password);
  const retryAfter = expectLocked(right);
  assert.ok(retryAfter <= 60, `retryAfter ${retryAfter}`);
  expectLocked(await login(svc.url, email, strongPassword()));
  const row = (await userRow(db, email))!;
  assert.is((await lockoutRows(db, row.id)).length, 1);
  assert.is(row.last_login_at, null, 'no login happened');
});

s(
  'after expiry the right password works, failed_attempts is reset and the lockout is released by expiry',
  async ({ svc, clock, db }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const retryAfter = await lockOut(svc.url, email);
    clock.advance(retryAfter + 1);
    await loginOk(svc.url, email, password);
    const row = (await userRow(db, email))!;
    assert.is(row.failed_attempts, 0);
    assert.is(row.locked_until, null);
    const [lock] = await lockoutRows(db, row.id);
    assert.ok(lock!.released_at, 'released_at set');
    assert.is(lock!.released_by, 'expiry');
  },
);

s('after expiry the count starts again: one wrong password does not re-lock', async ({ svc, clock }) => {
  const { email } = await verifiedAccount(svc.url);
  const retryAfter = await lockOut(svc.url, email);
  clock.advance(retryAfter + 1);
  expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  expectLocked(await login(svc.url, email, strongPassword()));
});

s(
  'a lockout within 24 h of the previous one lasts twice as long, capped at LOCKOUT_MAX_MINUTES; after 24 h it is back to the base',
  async ({ svc, clock, db }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const retryAfter = await lockOut(svc.url, email);
      seen.push(retryAfter);
      clock.advance(retryAfter + 1);
    }
    assert.equal(seen, [60, 120, 180], 'base, doubled, capped (240 > 180)');
    const id = (await userRow(db, email))!.id;
    assert.equal(
      (await lockoutRows(db, id)).map((r) => r.seconds),
      [60, 120, 180],
    );

    clock.advance(24 * 3600 + 60);
    assert.is(await lockOut(svc.url, email), 60, 'a day after the last lockout began, the base again');
    assert.equal(
      (await lockoutRows(db, id)).map((r) => r.seconds),
      [60, 120, 180, 60],
    );
    clock.advance(61);
    await loginOk(svc.url, email, password);
    await smtp().waitFor(email, 'Your account was locked');
  },
);

s(
  'clearing users.locked_until and failed_attempts by SQL unlocks at once (runbook); the history still doubles the next lockout',
  async ({ svc, db }) => {
    const { email, password } = await verifiedAccount(svc.url);
    await lockOut(svc.url, email);
    expectLocked(await login(svc.url, email, password));
    await db.rows('update users set locked_until = null, failed_attempts = 0 where email = $1', [email]);
    await loginOk(svc.url, email, password);
    assert.is(await lockOut(svc.url, email), 120, 'admin unlock does not erase the history');
  },
);

s(
  'an unknown email is locked after exactly as many failures as a known one, with the same answers',
  async ({ svc, clock, db }) => {
    const { email: known } = await verifiedAccount(svc.url);
    const unknown = uniqueEmail('ghost');
    const since = await dbNow(db);
    for (const round of [1, 2]) {
      const k = await failLogins(svc.url, known, 3);
      const u = await failLogins(svc.url, unknown, 3);
      for (let i = 0; i < 3; i++) {
        assert.is(u[i]!.status, k[i]!.status, `round ${round}, attempt ${i + 1}`);
        assert.is(JSON.stringify(u[i]!.body), JSON.stringify(k[i]!.body), `round ${round}, attempt ${i + 1}`);
        assert.is(u[i]!.headers.get('retry-after'), k[i]!.headers.get('retry-after'));
      }
      assert.is(expectLocked(u[2]!), round === 1 ? 60 : 120, 'unknown emails double too');
      // While locked, both refuse with the same shape.
      const kl = await login(svc.url, known, strongPassword());
      const ul = await login(svc.url, unknown, strongPassword());
      expectLocked(kl);
      expectLocked(ul);
      assert.equal(Object.keys(ul.error!.data).sort(), Object.keys(kl.error!.data).sort());
      clock.advance(expectLocked(u[2]!) + 1);
    }
    await outboxSettled(db, since);
    assert.is(smtp().all(unknown).length, 0, 'nobody is mailed about an unknown address');
  },
);

s('registering an address clears the failures collected while it had no account', async ({ svc }) => {
  const email = uniqueEmail();
  await failLogins(svc.url, email, 2);
  const { password } = await verifiedAccount(svc.url, { email });
  expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  await loginOk(svc.url, email, password);
});

s('changePassword with a wrong current password counts toward lockout', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const pair = await loginOk(svc.url, email, password);
  for (let i = 0; i < 2; i++) {
    const res = await mutation(
      svc.url,
      'auth.changePassword',
      { currentPassword: strongPassword(), newPassword: strongPassword() },
      { token: pair.accessToken },
    );
    expectError(res, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  }
  assert.is((await userRow(db, email))!.failed_attempts, 2);
  expectLocked(await login(svc.url, email, strongPassword()));
  expectLocked(await login(svc.url, email, password));
  const res = await mutation(
    svc.url,
    'auth.changePassword',
    { currentPassword: password, newPassword: strongPassword() },
    { token: pair.accessToken },
  );
  expectLocked(res);
});

s('concurrent failures past the threshold start one lockout, not several', async ({ svc, db }) => {
  const { email } = await verifiedAccount(svc.url);
  const results = await Promise.all(Array.from({ length: 6 }, () => login(svc.url, email, strongPassword())));
  for (const r of results) assert.ok(r.status === 401 || r.status === 429, JSON.stringify(r.body));
  assert.ok(
    results.some((r) => r.status === 429),
    'locked',
  );
  const id = (await userRow(db, email))!.id;
  assert.is((await lockoutRows(db, id)).length, 1);
});

s('in real time: honouring Retry-After is enough to log in again (LOCKOUT_MINUTES=0.05)', async () => {
  const svc = await startService({ LOCKOUT_THRESHOLD: '3', LOCKOUT_MINUTES: '0.05', LOCKOUT_MAX_MINUTES: '0.1' });
  try {
    const { email, password } = await verifiedAccount(svc.url);
    const retryAfter = await lockOut(svc.url, email);
    assert.is(retryAfter, 3);
    expectLocked(await login(svc.url, email, password));
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 50));
    await loginOk(svc.url, email, password);
  } finally {
    await svc.close();
  }
});

s.run();
