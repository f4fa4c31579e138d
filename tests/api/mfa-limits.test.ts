import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../support/clock.js';
import { expectError } from '../support/accounts.js';
import { mutation } from '../support/http.js';
import { challenge, totpUser, verify } from '../support/mfa.js';
import { startService, type TestService } from '../support/service.js';

// Small per-account limits; generous per-IP ones, so only the account rules bite.
const ENV = {
  RATE_LIMIT_ENABLED: 'true',
  LOCKOUT_THRESHOLD: '50',
  RATE_LIMITS: JSON.stringify({
    'mfa.user': [3, 900],
    'password.user': [4, 3600],
    'mfa.ip': [1000, 60],
    'login.ip': [1000, 60],
    'login.email': [1000, 60],
    'register.ip': [1000, 60],
    'default.ip': [10000, 60],
  }),
};

const s = suite<{ svc: TestService; clock: ManualClock }>('api: second-factor rate limits');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService(ENV, { clock: ctx.clock });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

s(
  'mfa.user counts second-factor answers per account, across challenges; other accounts are not affected',
  async ({ svc, clock }) => {
    const u = await totpUser(svc, clock); // confirming spent one answer
    const v = await totpUser(svc, clock);
    const c1 = await challenge(svc.url, u.email, u.password);
    const c2 = await challenge(svc.url, u.email, u.password);
    expectError(await verify(svc.url, c1.mfaToken, '000000'), 'UNAUTHORIZED', 'INVALID_MFA_CODE');
    expectError(await verify(svc.url, c2.mfaToken, '000000'), 'UNAUTHORIZED', 'INVALID_MFA_CODE');
    const limited = await verify(svc.url, c2.mfaToken, u.recoveryCodes[0]!);
    const err = expectError(limited, 'TOO_MANY_REQUESTS', 'RATE_LIMITED');
    assert.ok(err.data.retryAfter! > 0 && err.data.retryAfter! <= 900);
    assert.is(limited.headers.get('retry-after'), String(err.data.retryAfter));
    const other = await verify(svc.url, (await challenge(svc.url, v.email, v.password)).mfaToken, v.recoveryCodes[0]!);
    assert.is(other.status, 200);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    assert.match(metrics, /rate_limit_exceeded_total\{limit="mfa.user"\} [1-9]/);
  },
);

s('password.user limits re-auth with the current password per account', async ({ svc, clock }) => {
  const u = await totpUser(svc, clock); // enrolling spent one
  const token = { token: u.tokens.accessToken };
  for (let i = 0; i < 3; i++) {
    const r = await mutation(svc.url, 'mfa.recoveryCodes.regenerate', { currentPassword: u.password }, token);
    assert.is(r.status, 200, JSON.stringify(r.body));
  }
  const limited = await mutation(svc.url, 'mfa.recoveryCodes.regenerate', { currentPassword: u.password }, token);
  expectError(limited, 'TOO_MANY_REQUESTS', 'RATE_LIMITED');
});

s.run();
