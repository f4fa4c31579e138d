import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../support/clock.js';
import { expectError, login, openDb, userRow, verifiedAccount, type TestDb } from '../support/accounts.js';
import { startService, type TestService } from '../support/service.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

/**
 * Failure streaks decay alike for accounts and for unknown addresses: a
 * streak idle for a day starts over. Were only unknown addresses forgotten,
 * the answer after a quiet day would tell which addresses have an account.
 */
const s = suite<{ svc: TestService; clock: ManualClock; db: TestDb }>('api: lockout decay');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService(
    { LOCKOUT_THRESHOLD: '3', LOCKOUT_MINUTES: '1', LOCKOUT_MAX_MINUTES: '3' },
    { clock: ctx.clock },
  );
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

s(
  'two failures, a quiet day, one more: INVALID_CREDENTIALS for a known and an unknown address alike',
  async ({ svc, clock, db }) => {
    const { email: known } = await verifiedAccount(svc.url);
    const unknown = uniqueEmail('ghost');
    for (const email of [known, unknown]) {
      for (let i = 0; i < 2; i++)
        expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    }
    clock.advance(25 * 3600);
    const k = await login(svc.url, known, strongPassword());
    const u = await login(svc.url, unknown, strongPassword());
    expectError(k, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    assert.is(JSON.stringify(u.body), JSON.stringify(k.body));
    assert.is((await userRow(db, known))!.failed_attempts, 1, 'the streak started over');
  },
);

s('failures within the day still add up', async ({ svc, clock }) => {
  const { email } = await verifiedAccount(svc.url);
  for (let i = 0; i < 2; i++)
    expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  clock.advance(23 * 3600);
  expectError(await login(svc.url, email, strongPassword()), 'TOO_MANY_REQUESTS', 'ACCOUNT_LOCKED');
});

s.run();
