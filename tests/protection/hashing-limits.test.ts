import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mutation, type CallResult } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';

/**
 * Calls that cost a password hash or guess a one-time token are limited:
 * `password.user` counts every check of a user's current password (a right
 * current password with a weak new one still costs a full scrypt),
 * `token.ip` counts verifyEmail and resetPassword per client address.
 */
const s = suite<{ svc: TestService }>('protection: password.user and token.ip limits');
s.before(async (ctx) => {
  ctx.svc = await startService({
    RATE_LIMIT_ENABLED: 'true',
    TRUST_PROXY: 'loopback',
    RATE_LIMITS: JSON.stringify({ 'password.user': [3, 3600], 'token.ip': [3, 3600] }),
  });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

function freshIp(): string {
  const b = randomBytes(2);
  return `203.0.${b[0]}.${(b[1]! % 250) + 1}`;
}

function expectLimited(res: CallResult, what: string): void {
  assert.is(res.status, 429, `${what}: ${JSON.stringify(res.body)}`);
  assert.is(res.error?.data.appCode, 'RATE_LIMITED');
  assert.ok((res.error?.data.retryAfter ?? 0) >= 1);
}

s('changePassword: the fourth check of the current password within the window is RATE_LIMITED', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const call = () =>
    mutation(
      svc.url,
      'auth.changePassword',
      { currentPassword: user.password, newPassword: 'password' },
      { token: user.tokens.accessToken },
    );
  for (let i = 0; i < 3; i++) assert.is((await call()).error?.data.appCode, 'WEAK_PASSWORD', `call ${i + 1}`);
  expectLimited(await call(), 'fourth');
  // Per user: another account is not affected.
  const other = await createVerifiedUser(svc.url);
  const res = await mutation(
    svc.url,
    'auth.changePassword',
    { currentPassword: other.password, newPassword: 'password' },
    { token: other.tokens.accessToken },
  );
  assert.is(res.error?.data.appCode, 'WEAK_PASSWORD');
});

s(
  'verifyEmail and resetPassword share token.ip: the fourth guess from one address is RATE_LIMITED',
  async ({ svc }) => {
    const ip = freshIp();
    const from = { headers: { 'x-forwarded-for': ip } };
    const guess = () => randomBytes(32).toString('base64url');
    assert.is(
      (await mutation(svc.url, 'auth.verifyEmail', { token: guess() }, from)).error?.data.appCode,
      'INVALID_TOKEN',
    );
    assert.is(
      (
        await mutation(
          svc.url,
          'auth.resetPassword',
          { token: guess(), newPassword: 'Velvet-harbor-quince-92-x' },
          from,
        )
      ).error?.data.appCode,
      'INVALID_TOKEN',
    );
    assert.is(
      (await mutation(svc.url, 'auth.verifyEmail', { token: guess() }, from)).error?.data.appCode,
      'INVALID_TOKEN',
    );
    expectLimited(await mutation(svc.url, 'auth.verifyEmail', { token: guess() }, from), 'fourth verifyEmail');
    expectLimited(
      await mutation(svc.url, 'auth.resetPassword', { token: guess(), newPassword: 'Velvet-harbor-quince-92-x' }, from),
      'resetPassword',
    );
    // Another address still gets an answer.
    const other = { headers: { 'x-forwarded-for': freshIp() } };
    assert.is(
      (await mutation(svc.url, 'auth.verifyEmail', { token: guess() }, other)).error?.data.appCode,
      'INVALID_TOKEN',
    );
  },
);

s.run();
