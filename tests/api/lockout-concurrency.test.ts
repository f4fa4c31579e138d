import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  expectError,
  expectLocked,
  lockoutRows,
  login,
  openDb,
  pauseVerification,
  userRow,
  verifiedAccount,
  type TestDb,
} from '../support/accounts.js';
import { startService, type TestService } from '../support/service.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

/**
 * The lockout under concurrency: attempts are counted atomically and the
 * answer comes from the state after the password check, so a burst of
 * guesses sent together (several replicas, or rate limits off) cannot buy
 * more than THRESHOLD-1 tries, nor a session while the account is locked.
 */
const ENV = { LOCKOUT_THRESHOLD: '3', LOCKOUT_MINUTES: '1', LOCKOUT_MAX_MINUTES: '3' };

const s = suite<{ svc: TestService; db: TestDb }>('api: lockout under concurrency');
s.before(async (ctx) => {
  ctx.svc = await startService(ENV);
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

s(
  'of 12 parallel wrong passwords at most THRESHOLD-1 answer INVALID_CREDENTIALS; the rest ACCOUNT_LOCKED',
  async ({ svc, db }) => {
    const { email } = await verifiedAccount(svc.url);
    const answers = await Promise.all(Array.from({ length: 12 }, () => login(svc.url, email, strongPassword())));
    const invalid = answers.filter((r) => r.error?.data.appCode === 'INVALID_CREDENTIALS').length;
    const locked = answers.filter((r) => r.error?.data.appCode === 'ACCOUNT_LOCKED').length;
    assert.is(invalid + locked, 12, JSON.stringify(answers.map((r) => r.body)));
    assert.ok(invalid <= 2, `${invalid} INVALID_CREDENTIALS answers`);
    const row = (await userRow(db, email))!;
    assert.ok(row.locked_until && row.locked_until > new Date(), 'locked');
    assert.is((await lockoutRows(db, row.id)).length, 1, 'one lockout');
  },
);

s('the right password checked while a burst locks the account is refused, and the lock stays', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  // Hold the right password's check after scrypt until the wrong ones have locked the account.
  const pause = pauseVerification(svc, password);
  try {
    const right = login(svc.url, email, password);
    await pause.reached;
    const wrong = await Promise.all(Array.from({ length: 4 }, () => login(svc.url, email, strongPassword())));
    assert.ok(
      wrong.some((r) => r.error?.data.appCode === 'ACCOUNT_LOCKED'),
      'the burst locked the account',
    );
    pause.release();
    expectLocked(await right);
  } finally {
    pause.restore();
  }
  const row = (await userRow(db, email))!;
  assert.ok(row.locked_until && row.locked_until > new Date(), 'still locked');
  assert.ok(row.failed_attempts >= 3, `failed_attempts ${row.failed_attempts} kept`);
  assert.is(row.last_login_at, null, 'no login recorded');
  const sessions = await db.row<{ n: string }>('select count(*) as n from refresh_tokens where user_id = $1', [row.id]);
  assert.is(Number(sessions!.n), 0, 'no session opened');
});

s('a right password on an inactive account counts as a failure like a wrong one', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  await db.rows('update users set is_active = false where email = $1', [email]);
  expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  // The third failure reaches the threshold whether or not the guess was right.
  expectLocked(await login(svc.url, email, password));
  assert.is((await userRow(db, email))!.failed_attempts, 3);
});

s('an unknown email: of 12 parallel attempts at most THRESHOLD-1 answer INVALID_CREDENTIALS', async ({ svc }) => {
  const email = uniqueEmail('nobody');
  const answers = await Promise.all(Array.from({ length: 12 }, () => login(svc.url, email, strongPassword())));
  const invalid = answers.filter((r) => r.error?.data.appCode === 'INVALID_CREDENTIALS').length;
  assert.ok(invalid <= 2, `${invalid} INVALID_CREDENTIALS answers`);
  assert.is(answers.filter((r) => r.error?.data.appCode === 'ACCOUNT_LOCKED').length, 12 - invalid);
});

s.run();
