import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mutation } from '../support/http.js';
import { dbRow, dbRows, eventually } from '../support/pg.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';

/**
 * What a client writes in X-Forwarded-For, even behind a trusted proxy, is
 * only believed when it is an IP address: anything else is ignored (the
 * hop that sent it is the client), so a long forged value can neither
 * overflow an IP column nor name a fresh counter per request. The failure
 * burst alert counts IPv6 per /64, as the rate limits do.
 */
const s = suite<{ svc: TestService }>('protection: forwarded addresses');
s.before(async (ctx) => {
  ctx.svc = await startService({ TRUST_PROXY: '1' });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const from = (value: string) => ({
  headers: { 'x-forwarded-for': value, 'user-agent': `forwarded-test-${value.length}` },
});

s('a long forged X-Forwarded-For never makes a login answer 500', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const forged = 'x'.repeat(300);
  const ok = await mutation(svc.url, 'auth.login', { email: user.email, password: user.password }, from(forged));
  assert.is(ok.status, 200, JSON.stringify(ok.body));
  for (let i = 0; i < 6; i++) {
    const res = await mutation(svc.url, 'auth.login', { email: user.email, password: strongPassword() }, from(forged));
    assert.ok(res.status === 401 || res.status === 429, `attempt ${i + 1}: ${res.status} ${JSON.stringify(res.body)}`);
  }
});

s('a forwarded value that is not an IP address is ignored: the hop that sent it is the client', async ({ svc }) => {
  const requestId = `fwd-${randomBytes(6).toString('hex')}`;
  const res = await mutation(
    svc.url,
    'auth.login',
    { email: uniqueEmail('fwd'), password: strongPassword() },
    { headers: { 'x-forwarded-for': 'not-an-ip, also not', 'x-request-id': requestId } },
  );
  assert.is(res.status, 401);
  const row = await eventually('the auth_failure row', () =>
    dbRow<{ ip: string }>(`select ip from security_events where event_type = 'auth_failure' and request_id = $1`, [
      requestId,
    ]),
  );
  assert.match(row.ip, /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
});

s('ten failures from ten addresses of one IPv6 /64 raise auth_failure_burst', async ({ svc }) => {
  const prefix = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
  for (let i = 1; i <= 10; i++) {
    const res = await mutation(
      svc.url,
      'auth.login',
      { email: uniqueEmail('burst'), password: strongPassword() },
      from(`${prefix}::${i.toString(16)}`),
    );
    assert.is(res.status, 401);
  }
  const bursts = await dbRows(`select ip from security_events where event_type = 'auth_failure_burst' and ip like $1`, [
    `${prefix}:%`,
  ]);
  assert.is(bursts.length, 1, 'one burst alert for the /64');
});

s.run();
