import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  dbNow,
  expectError,
  fullwidth,
  loginOk,
  openDb,
  outboxSettled,
  scryptParams,
  userRow,
  type TestDb,
} from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

const s = suite<{ svc: TestService; open: TestService; db: TestDb }>('api: auth.register');
s.before(async (ctx) => {
  ctx.svc = await startService();
  ctx.open = await startService({ EMAIL_VERIFICATION_REQUIRED: 'false' });
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
  await ctx.open.close();
  await ctx.db.close();
});

const smtp = () => testGlobals().smtp;

s(
  'a new email: {ok, verificationRequired} and a "Verify your email" mail with a PUBLIC_URL/verify-email link',
  async ({ svc }) => {
    const email = uniqueEmail();
    const res = await mutation(svc.url, 'auth.register', {
      email,
      password: strongPassword(),
      fullName: '  Ada Lovelace ',
    });
    assert.is(res.status, 200);
    assert.equal(res.data, { ok: true, verificationRequired: true });
    const mail = await smtp().waitFor(email, 'Verify your email');
    assert.match(mail.text, /http:\/\/auth\.test\.local\/verify-email\?token=[A-Za-z0-9_-]{16,}/);
    assert.ok(linkToken(mail, 'verify-email').length >= 32, 'a token of >= 192 bits');
  },
);

s('the users row holds an scrypt hash at the configured cost, never the password', async ({ svc, db }) => {
  const email = uniqueEmail();
  const password = strongPassword();
  await mutation(svc.url, 'auth.register', { email, password, fullName: '  Ada Lovelace ' });
  const row = await db.row('select * from users where email = $1', [email]);
  assert.ok(row, 'a users row');
  assert.not.ok(row.hashed_password.includes(password));
  assert.not.ok(Buffer.from(row.hashed_password, 'base64').toString('latin1').includes(password));
  assert.equal(scryptParams(row.hashed_password), { logN: 10, r: 8, p: 1 });
  assert.is(row.full_name, 'Ada Lovelace');
  assert.is(row.email_verified_at, null);
  assert.is(row.is_active, true);
  assert.is(row.is_superuser, false);
  assert.is(row.failed_attempts, 0);
});

s(
  'a taken email with verification on: the identical answer, and the owner gets a notice without a verify link',
  async ({ svc, db }) => {
    const email = uniqueEmail();
    const first = await mutation(svc.url, 'auth.register', { email, password: strongPassword() });
    await smtp().waitFor(email, 'Verify your email');
    const before = await db.row('select hashed_password from users where email = $1', [email]);
    const since = await dbNow(db);

    const second = await mutation(svc.url, 'auth.register', { email, password: strongPassword() });
    assert.is(second.status, first.status);
    assert.is(JSON.stringify(second.body), JSON.stringify(first.body));

    const notice = await smtp().waitFor(email, 'Sign-up attempt with your email');
    assert.not.match(notice.text, /verify-email/);
    assert.not.match(notice.text, /token=/);
    await outboxSettled(db, since);
    assert.is(smtp().all(email, 'Verify your email').length, 1, 'no second verification mail');
    // The attempt changes nothing about the existing account.
    const after = await db.row('select hashed_password from users where email = $1', [email]);
    assert.is(after.hashed_password, before.hashed_password);
    assert.is((await db.row('select count(*)::int as n from users where email = $1', [email])).n, 1);
  },
);

s(
  'a taken email with EMAIL_VERIFICATION_REQUIRED=false: CONFLICT/EMAIL_TAKEN, and login works without verifying',
  async ({ open }) => {
    const email = uniqueEmail();
    const password = strongPassword();
    const first = await mutation(open.url, 'auth.register', { email, password });
    assert.is(first.status, 200);
    assert.equal(first.data, { ok: true, verificationRequired: false });
    const pair = await loginOk(open.url, email, password);
    assert.is(pair.user.emailVerified, true);

    const again = await mutation(open.url, 'auth.register', { email: email.toUpperCase(), password: strongPassword() });
    expectError(again, 'CONFLICT', 'EMAIL_TAKEN');
    assert.is(again.status, 409);
  },
);

s('emails are trimmed, lower-cased and NFKC-normalised: variants reach the same account', async ({ svc, db }) => {
  const local = `alice${randomBytes(4).toString('hex')}`;
  const canonical = `${local}@example.com`;
  const password = strongPassword();
  const res = await mutation(svc.url, 'auth.register', {
    email: `  ${local.toUpperCase().replace('ALICE', 'Alice')}@Example.COM `,
    password,
  });
  assert.is(res.status, 200);
  const row = await userRow(db, canonical);
  assert.ok(row, 'stored lower-cased and trimmed');
  await smtp().waitFor(canonical, 'Verify your email');

  // Fullwidth letters and digits (NFKC-equivalent) name the same account.
  const variant = `${fullwidth(local)}@${fullwidth('EXAMPLE')}.com`;
  assert.is.not(variant, canonical);
  const since = await dbNow(db);
  const dup = await mutation(svc.url, 'auth.register', { email: variant, password: strongPassword() });
  assert.equal(dup.data, { ok: true, verificationRequired: true });
  await smtp().waitFor(canonical, 'Sign-up attempt with your email');
  await outboxSettled(db, since);
  assert.is((await db.row('select count(*)::int as n from users where email like $1', [`${local}%`])).n, 1);

  // And login finds it through any variant.
  const verify = linkToken(smtp().all(canonical, 'Verify your email')[0]!, 'verify-email');
  assert.is((await mutation(svc.url, 'auth.verifyEmail', { token: verify })).status, 200);
  const pair = await loginOk(svc.url, variant, password);
  assert.is(pair.user.email, canonical);
});

s(
  'an email that NFKC turns into a non-address is INVALID_INPUT, not a server error or a stored oddity',
  async ({ svc, db }) => {
    const tag = randomBytes(3).toString('hex');
    const cases = [
      // "㎞" (one character) normalises to "km": 142 characters become 272.
      { name: 'expands past 254', email: `${'㎞'.repeat(130)}${tag}@example.com` },
      // "﹫" (small commercial at) normalises to a second "@".
      { name: 'gains a second @', email: `victim${tag}﹫example.com@attacker.example` },
      // "ﷺ" normalises to words separated by spaces.
      { name: 'gains spaces', email: `a${tag}ﷺ@example.com` },
    ];
    for (const c of cases) {
      const res = await mutation(svc.url, 'auth.register', { email: c.email, password: strongPassword() });
      const err = expectError(res, 'BAD_REQUEST', 'INVALID_INPUT');
      assert.is(err.data.field, 'email', c.name);
    }
    assert.is((await db.row('select count(*)::int as n from users where email like $1', [`%${tag}%`])).n, 0);
  },
);

s(
  'an email written as address-list syntax is INVALID_INPUT, and nothing is mailed to the address inside it',
  async ({ svc, db }) => {
    const victim = uniqueEmail('victim');
    const since = await dbNow(db);
    for (const email of [`x<${victim}>`, `x,${victim}`, `x;${victim}`, `"x"${victim}`, `x\u200b${victim}`]) {
      const res = await mutation(svc.url, 'auth.register', { email, password: strongPassword() });
      assert.is(expectError(res, 'BAD_REQUEST', 'INVALID_INPUT').data.field, 'email', email);
    }
    // A sentinel sign-up after them proves the outbox has been worked through.
    const sentinel = uniqueEmail();
    await mutation(svc.url, 'auth.register', { email: sentinel, password: strongPassword() });
    await smtp().waitFor(sentinel, 'Verify your email');
    await outboxSettled(db, since);
    assert.is(smtp().all(victim).length, 0, 'the address inside was never mailed');
    assert.is((await db.row('select count(*)::int as n from users where position($1 in email) > 0', [victim])).n, 0);
  },
);

s('every password refusal is BAD_REQUEST/WEAK_PASSWORD with data.reason', async ({ svc, db }) => {
  const local = `marguerite.${randomBytes(3).toString('hex')}`;
  const cases: Array<{ name: string; email?: string; password: string; reason: string }> = [
    { name: '14 characters', password: 'Zq8#vR2m!xL9wK', reason: 'too_short' },
    { name: '257 characters', password: 'Zq8#vR2m!xL9wK'.repeat(19).slice(0, 257), reason: 'too_long' },
    { name: '5000 characters', password: 'Zq8#vR2m!xL9wK'.repeat(400).slice(0, 5000), reason: 'too_long' },
    { name: 'a dictionary pattern', password: 'password1234567890', reason: 'too_guessable' },
    { name: 'a repeated pattern', password: 'aaaaaaaaaaaaaaaaaaaa', reason: 'too_guessable' },
    { name: 'keyboard walk', password: 'qwertyuiopasdfghjkl', reason: 'too_guessable' },
    {
      name: 'the email local part, any case',
      email: `${local}@example.com`,
      password: `xx-${local.toUpperCase()}-Tundra-Pebble-71`,
      reason: 'contains_email',
    },
    { name: 'the service name', password: 'Tundra-Pebble-Secure-Auth-71x', reason: 'contains_service_name' },
  ];
  for (const c of cases) {
    const email = c.email ?? uniqueEmail();
    const res = await mutation(svc.url, 'auth.register', { email, password: c.password });
    const err = expectError(res, 'BAD_REQUEST', 'WEAK_PASSWORD');
    assert.is(err.data.reason, c.reason, c.name);
    assert.is(await userRow(db, email), undefined, `${c.name}: no account created`);
  }
});

s('256 characters and any Unicode are accepted (no composition rules, no truncation)', async ({ svc }) => {
  const long = (strongPassword() + '-').repeat(10).slice(0, 256);
  assert.is([...long].length, 256);
  const a = await mutation(svc.url, 'auth.register', { email: uniqueEmail(), password: long });
  assert.is(a.status, 200, JSON.stringify(a.body));
  const unicode = `żółw-śnieżny-${randomBytes(3).toString('hex')}-🦊-ночь-λ`;
  const b = await mutation(svc.url, 'auth.register', { email: uniqueEmail(), password: unicode });
  assert.is(b.status, 200, JSON.stringify(b.body));
});

s('PASSWORD_MIN_LENGTH is respected', async () => {
  const svc20 = await startService({ PASSWORD_MIN_LENGTH: '20' });
  try {
    const pw19 = `Kq7${randomBytes(18).toString('base64url')}`.slice(0, 19);
    const short = await mutation(svc20.url, 'auth.register', { email: uniqueEmail(), password: pw19 });
    assert.is(expectError(short, 'BAD_REQUEST', 'WEAK_PASSWORD').data.reason, 'too_short');
    const pw20 = `Kq7${randomBytes(18).toString('base64url')}`.slice(0, 20);
    assert.is(pw20.length, 20);
    const ok = await mutation(svc20.url, 'auth.register', { email: uniqueEmail(), password: pw20 });
    assert.is(ok.status, 200, JSON.stringify(ok.body));
  } finally {
    await svc20.close();
  }
});

s('the default minimum is 15 characters, counted as code points', async ({ svc }) => {
  const pw15 = `Kq7${randomBytes(12).toString('base64url')}`.slice(0, 15);
  assert.is((await mutation(svc.url, 'auth.register', { email: uniqueEmail(), password: pw15 })).status, 200);
  // 14 emoji are 28 UTF-16 units but 14 characters.
  const emoji = '🦊🐙🦉🐳🦄🐝🦋🐢🦀🐬🦩🐌🦥🐧';
  const res = await mutation(svc.url, 'auth.register', { email: uniqueEmail(), password: emoji });
  assert.is(expectError(res, 'BAD_REQUEST', 'WEAK_PASSWORD').data.reason, 'too_short');
});

s('invalid input is BAD_REQUEST/INVALID_INPUT naming the field', async ({ svc }) => {
  const cases: Array<{ name: string; input: unknown; field: string }> = [
    { name: 'not an email', input: { email: 'not-an-email', password: strongPassword() }, field: 'email' },
    { name: 'two @', input: { email: 'a@b@example.com', password: strongPassword() }, field: 'email' },
    {
      name: 'email over 254',
      input: { email: `${'a'.repeat(250)}@example.com`, password: strongPassword() },
      field: 'email',
    },
    { name: 'missing email', input: { password: strongPassword() }, field: 'email' },
    { name: 'missing password', input: { email: uniqueEmail() }, field: 'password' },
    { name: 'email is a number', input: { email: 123, password: strongPassword() }, field: 'email' },
    { name: 'password is an array', input: { email: uniqueEmail(), password: ['x'] }, field: 'password' },
    { name: 'empty password', input: { email: uniqueEmail(), password: '' }, field: 'password' },
    {
      name: 'fullName is a number',
      input: { email: uniqueEmail(), password: strongPassword(), fullName: 42 },
      field: 'fullName',
    },
  ];
  for (const c of cases) {
    const res = await mutation(svc.url, 'auth.register', c.input);
    assert.is(res.status, 400, c.name);
    const err = expectError(res, 'BAD_REQUEST', 'INVALID_INPUT');
    assert.is(err.data.field, c.field, c.name);
  }
});

s('registering through the open service gives a verified account that logs in', async ({ open, db }) => {
  const email = uniqueEmail();
  const password = strongPassword();
  const since = await dbNow(db);
  await mutation(open.url, 'auth.register', { email, password });
  const row = await userRow(db, email);
  assert.ok(row?.email_verified_at, 'email_verified_at set');
  await outboxSettled(db, since);
  assert.is(smtp().all(email).length, 0, 'no verification mail when verification is off');
  await loginOk(open.url, email, password);
});

s.run();
