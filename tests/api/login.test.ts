import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import {
  expectError,
  fullwidth,
  login,
  loginOk,
  accountSuite,
  registerAccount,
  scryptParams,
  userRow,
  verifiedAccount,
} from '../support/accounts.js';
import { mutation, query } from '../support/http.js';
import { startService } from '../support/service.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

const s = accountSuite('api: auth.login');

s('success returns a TokenPair as the API reference describes it', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const res = await login(svc.url, email, password);
  assert.is(res.status, 200);
  const pair: TokenPair = res.data;
  assert.equal(Object.keys(pair).sort(), [
    'accessToken',
    'expiresIn',
    'refreshExpiresIn',
    'refreshToken',
    'tokenType',
    'user',
  ]);
  assert.is(pair.tokenType, 'Bearer');
  assert.match(pair.accessToken, /^v4\.public\./);
  assert.match(pair.refreshToken, /^[A-Za-z0-9_-]{43,}$/);
  assert.is(pair.expiresIn, 15 * 60);
  // Seconds left on a token issued moments ago: the configured 43200 minutes, floored.
  assert.ok(
    pair.refreshExpiresIn <= 43200 * 60 && pair.refreshExpiresIn >= 43200 * 60 - 2,
    `refreshExpiresIn ${pair.refreshExpiresIn}`,
  );
  const row = (await userRow(db, email))!;
  assert.equal(Object.keys(pair.user).sort(), ['createdAt', 'email', 'emailVerified', 'fullName', 'id', 'isSuperuser']);
  assert.is(pair.user.id, row.id);
  assert.is(pair.user.email, email);
  assert.is(pair.user.emailVerified, true);
  assert.is(pair.user.isSuperuser, false);
  assert.is(pair.user.fullName, null);
  assert.ok(!Number.isNaN(Date.parse(pair.user.createdAt)), 'createdAt is ISO-8601');
  assert.ok(row.last_login_at, 'last_login_at recorded');

  const me = await query(svc.url, 'auth.me', undefined, { token: pair.accessToken });
  assert.is(me.status, 200);
  assert.equal(me.data, pair.user);
  const refreshed = await mutation(svc.url, 'auth.refresh', { refreshToken: pair.refreshToken });
  assert.is(refreshed.status, 200);
});

s(
  'unknown email, wrong password and inactive account are all INVALID_CREDENTIALS with identical bodies',
  async ({ svc, db }) => {
    const known = await verifiedAccount(svc.url);
    const inactive = await verifiedAccount(svc.url);
    await db.rows('update users set is_active = false where email = $1', [inactive.email]);

    const cases = [
      { name: 'unknown email', res: await login(svc.url, uniqueEmail('ghost'), strongPassword()) },
      { name: 'wrong password', res: await login(svc.url, known.email, strongPassword()) },
      { name: 'inactive, right password', res: await login(svc.url, inactive.email, inactive.password) },
      { name: 'inactive, wrong password', res: await login(svc.url, inactive.email, strongPassword()) },
      { name: 'password differs in case only', res: await login(svc.url, known.email, known.password.toUpperCase()) },
    ];
    const reference = JSON.stringify(cases[0]!.res.body);
    for (const c of cases) {
      assert.is(c.res.status, 401, c.name);
      expectError(c.res, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
      assert.is(JSON.stringify(c.res.body), reference, c.name);
      assert.is(c.res.headers.get('retry-after'), null, c.name);
    }
  },
);

s('an unknown email verifies a dummy hash, as many scrypt verifications as a known one', async ({ svc }) => {
  const known = await verifiedAccount(svc.url);
  // The composition root hands this same hasher to the credential verifier;
  // counting its verifications shows the unknown path spends the same work.
  const hasher = svc.deps.hasher;
  const original = hasher.verify.bind(hasher);
  let calls = 0;
  hasher.verify = (stored: string, password: string) => {
    calls++;
    return original(stored, password);
  };
  try {
    calls = 0;
    expectError(await login(svc.url, uniqueEmail('ghost'), strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    const unknownCalls = calls;
    calls = 0;
    expectError(await login(svc.url, known.email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    const knownCalls = calls;
    assert.is(knownCalls, 1);
    assert.is(unknownCalls, knownCalls, 'the unknown email verified a dummy hash');
  } finally {
    hasher.verify = original;
  }
});

s(
  'an unverified account with the right password is FORBIDDEN/EMAIL_NOT_VERIFIED; with a wrong one INVALID_CREDENTIALS',
  async ({ svc }) => {
    const { email, password } = await registerAccount(svc.url);
    const right = await login(svc.url, email, password);
    assert.is(right.status, 403);
    expectError(right, 'FORBIDDEN', 'EMAIL_NOT_VERIFIED');
    expectError(await login(svc.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  },
);

s('success resets failed_attempts', async ({ svc, db }) => {
  const { email, password } = await verifiedAccount(svc.url);
  await login(svc.url, email, strongPassword());
  await login(svc.url, email, strongPassword());
  assert.is((await userRow(db, email))!.failed_attempts, 2);
  await loginOk(svc.url, email, password);
  assert.is((await userRow(db, email))!.failed_attempts, 0);
});

s('the email is matched after trimming, NFKC and lower-casing', async ({ svc }) => {
  const { email, password } = await verifiedAccount(svc.url);
  const [local, domain] = email.split('@') as [string, string];
  for (const variant of [`  ${email.toUpperCase()}  `, `${fullwidth(local)}@${domain}`]) {
    const pair = await loginOk(svc.url, variant, password);
    assert.is(pair.user.email, email);
  }
});

s('passwords are NFKC-normalised, and never truncated', async ({ svc }) => {
  const base = `Velvet${randomBytes(6).toString('hex')}Harbor`;
  const { email } = await verifiedAccount(svc.url, { password: fullwidth(base) });
  // The ASCII form of a fullwidth password is the same password under NFKC.
  await loginOk(svc.url, email, base);

  const long = `${strongPassword()}-${'x'.repeat(200)}`;
  const other = await verifiedAccount(svc.url, { password: long });
  await loginOk(svc.url, other.email, long);
  expectError(await login(svc.url, other.email, long.slice(0, -1)), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  expectError(await login(svc.url, other.email, `${long}y`), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
});

s('invalid input is BAD_REQUEST/INVALID_INPUT naming the field', async ({ svc }) => {
  const cases: Array<{ input: unknown; field: string }> = [
    { input: { email: 'nope', password: 'x' }, field: 'email' },
    { input: { password: 'x' }, field: 'email' },
    { input: { email: uniqueEmail() }, field: 'password' },
    { input: { email: uniqueEmail(), password: 12345 }, field: 'password' },
  ];
  for (const c of cases) {
    const err = expectError(
      await login(svc.url, (c.input as any).email, (c.input as any).password),
      'BAD_REQUEST',
      'INVALID_INPUT',
    );
    assert.is(err.data.field, c.field, JSON.stringify(c.input));
  }
});

s(
  'a hash made with older scrypt parameters is re-hashed at login; both services keep logging in',
  async ({ svc, db }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const before = (await userRow(db, email))!.hashed_password;
    assert.equal(scryptParams(before), { logN: 10, r: 8, p: 1 });

    const stronger = await startService({ SCRYPT_LOG_N: '11' });
    try {
      await loginOk(stronger.url, email, password);
      const after = (await userRow(db, email))!.hashed_password;
      assert.is.not(after, before);
      assert.equal(scryptParams(after), { logN: 11, r: 8, p: 1 });
      // A second login at the same cost keeps the hash.
      await loginOk(stronger.url, email, password);
      assert.is((await userRow(db, email))!.hashed_password, after);
      expectError(await login(stronger.url, email, strongPassword()), 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
      // The original service still accepts the password and keeps the stronger hash: re-hashing only goes up.
      await loginOk(svc.url, email, password);
      assert.is((await userRow(db, email))!.hashed_password, after);
    } finally {
      await stronger.close();
    }
  },
);

s('a failed login does not re-hash', async ({ svc, db }) => {
  const { email } = await verifiedAccount(svc.url);
  const before = (await userRow(db, email))!.hashed_password;
  const stronger = await startService({ SCRYPT_LOG_N: '11' });
  try {
    await login(stronger.url, email, strongPassword());
    assert.is((await userRow(db, email))!.hashed_password, before);
  } finally {
    await stronger.close();
  }
});

s.run();
