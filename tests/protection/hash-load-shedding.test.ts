import * as assert from 'uvu/assert';
import { accountSuite, expectError, login, loginOk, userRow, verifiedAccount } from '../support/accounts.js';
import { query } from '../support/http.js';

/**
 * A login flood must not queue without bound (memory, and everyone's login
 * behind it): beyond HASH_QUEUE_MAX waiting hashes the service sheds calls
 * with UNAVAILABLE and a Retry-After, and keeps serving.
 */
const s = accountSuite('protection: hash queue load shedding', {
  HASH_CONCURRENCY: '1',
  HASH_QUEUE_MAX: '2',
  // 16 MiB and tens of milliseconds per hash: a burst of logins outlasts one hash.
  SCRYPT_LOG_N: '14',
});

s(
  'a flood of parallel logins: the overflow answers 503 UNAVAILABLE with retryAfter and Retry-After',
  async ({ svc, db }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const results = await Promise.all(Array.from({ length: 16 }, () => login(svc.url, email, password)));

    const ok = results.filter((r) => r.status === 200);
    const shed = results.filter((r) => r.status === 503);
    assert.is(ok.length + shed.length, results.length, `only 200 or 503: ${results.map((r) => r.status).join(',')}`);
    // One hashing and two waiting at most when the burst arrives; the rest cannot all fit.
    assert.ok(ok.length >= 1, 'some logins were served');
    assert.ok(shed.length >= 1, 'some logins were shed');
    for (const r of shed) {
      const err = expectError(r, 'SERVICE_UNAVAILABLE', 'UNAVAILABLE');
      const retryAfter = err.data.retryAfter;
      assert.ok(Number.isInteger(retryAfter) && retryAfter! >= 1, `retryAfter ${retryAfter}`);
      assert.is(r.headers.get('retry-after'), String(retryAfter));
    }
    // Shedding is not a wrong password: nobody gets locked out by a flood.
    assert.is((await userRow(db, email))!.failed_attempts, 0);

    // Afterwards the service answers as before.
    const pair = await loginOk(svc.url, email, password);
    assert.is((await query(svc.url, 'auth.me', undefined, { token: pair.accessToken })).status, 200);
    assert.is((await fetch(`${svc.url}/health`)).status, 200);
  },
);

s('shutdown stops the hashing processes', async ({ svc }) => {
  const pids = svc.deps.hasher.processIds();
  assert.ok(pids.length >= 1, 'a hashing process ran');
  await svc.close();
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
  }
});

s.run();
