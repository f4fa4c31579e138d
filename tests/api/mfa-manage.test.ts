import { suite } from 'uvu';
import QRCode from 'qrcode';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { ManualClock } from '../support/clock.js';
import { expectError, openDb, type TestDb } from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { challenge, codeNow, totpUser, verify } from '../support/mfa.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';
import { createSuperuser } from '../ops/admin-support.js';
import { admin } from '../ops/cli-support.js';

const s = suite<{ svc: TestService; clock: ManualClock; db: TestDb }>('api: managing second factors');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService({ LOCKOUT_THRESHOLD: '5' }, { clock: ctx.clock });
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const nextStep = (clock: ManualClock) => clock.advance(30);
const auth = (pair: TokenPair) => ({ token: pair.accessToken });

s(
  'enrolling needs re-auth: nothing is REAUTH_REQUIRED, a wrong password is INVALID_CREDENTIALS and counts',
  async ({ svc, db }) => {
    const u = await createVerifiedUser(svc.url);
    expectError(await mutation(svc.url, 'mfa.totp.enroll', {}, auth(u.tokens)), 'FORBIDDEN', 'REAUTH_REQUIRED');
    // A code is no proof for an account without a second factor.
    expectError(
      await mutation(svc.url, 'mfa.totp.enroll', { code: '123456' }, auth(u.tokens)),
      'FORBIDDEN',
      'REAUTH_REQUIRED',
    );
    const wrong = await mutation(
      svc.url,
      'mfa.totp.enroll',
      { currentPassword: 'not the password at all 123' },
      auth(u.tokens),
    );
    expectError(wrong, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
    assert.is((await db.row('select failed_attempts from users where email = $1', [u.email]))!.failed_attempts, 1);
    expectError(
      await mutation(svc.url, 'mfa.totp.enroll', { currentPassword: u.password }),
      'UNAUTHORIZED',
      'UNAUTHENTICATED',
    );
  },
);

s(
  'enrol: a 160-bit base32 secret and an otpauth URI with issuer and email; the secret is sealed at rest',
  async ({ svc, db }) => {
    const u = await createVerifiedUser(svc.url);
    const res = await mutation(
      svc.url,
      'mfa.totp.enroll',
      { currentPassword: u.password, name: 'Work phone' },
      auth(u.tokens),
    );
    assert.is(res.status, 200, JSON.stringify(res.body));
    assert.match(res.data.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(res.data.otpauthUri);
    assert.is(uri.searchParams.get('issuer'), 'secure-auth');
    assert.is(uri.searchParams.get('secret'), res.data.secret);
    assert.ok(decodeURIComponent(uri.pathname).endsWith(`:${u.email}`));
    const row = await db.row('select * from mfa_factors where id = $1', [res.data.factorId]);
    assert.is(row.kind, 'totp');
    assert.is(row.name, 'Work phone');
    assert.is(row.confirmed_at, null);
    assert.not.ok(String(row.secret).includes(res.data.secret), 'no plaintext secret in the row');
    const list = await query(svc.url, 'mfa.list', undefined, auth(u.tokens));
    assert.equal(list.data, { factors: [], recoveryCodesLeft: 0 }, 'unconfirmed factors are not listed');
  },
);

s('enrol: qrSvg is the otpauth URI as an SVG QR code, no script, style or external reference', async ({ svc }) => {
  const u = await createVerifiedUser(svc.url);
  const res = await mutation(svc.url, 'mfa.totp.enroll', { currentPassword: u.password }, auth(u.tokens));
  assert.is(res.status, 200, JSON.stringify(res.body));
  const svg = res.data.qrSvg as string;
  assert.type(svg, 'string');
  assert.ok(svg.startsWith('<svg'), svg.slice(0, 40));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.not.match(svg, /<script|\son\w+\s*=|style|href|<foreignObject/i);
  // The same drawing as the URI's own QR code: it encodes exactly the otpauth URI.
  assert.is(svg, await QRCode.toString(res.data.otpauthUri, { type: 'svg' }));
  const otherUri = res.data.otpauthUri.replace(/secret=[A-Z2-7]+/, 'secret=AAAA');
  assert.not.equal(svg, await QRCode.toString(otherUri, { type: 'svg' }));
});

s(
  'confirm: a wrong code is refused; the right one gives 10 recovery codes once, mails the owner and ends every other session',
  async ({ svc, clock, db }) => {
    const u = await createVerifiedUser(svc.url);
    const other = (await mutation<TokenPair>(svc.url, 'auth.login', { email: u.email, password: u.password })).data;
    const enrolled = (await mutation(svc.url, 'mfa.totp.enroll', { currentPassword: u.password }, auth(u.tokens))).data;
    const wrong = await mutation(
      svc.url,
      'mfa.totp.confirm',
      { factorId: enrolled.factorId, code: codeNow(enrolled.secret, clock, 3) },
      auth(u.tokens),
    );
    expectError(wrong, 'UNAUTHORIZED', 'INVALID_MFA_CODE');
    const ok = await mutation(
      svc.url,
      'mfa.totp.confirm',
      { factorId: enrolled.factorId, code: codeNow(enrolled.secret, clock) },
      auth(u.tokens),
    );
    assert.is(ok.status, 200, JSON.stringify(ok.body));
    assert.is(ok.data.recoveryCodes.length, 10);
    for (const c of ok.data.recoveryCodes) assert.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
    const stored = await db.rows('select code_hash from recovery_codes where user_id = $1', [u.tokens.user.id]);
    assert.is(stored.length, 10);
    assert.not.ok(
      JSON.stringify(stored).includes(ok.data.recoveryCodes[0].replace('-', '')),
      'codes are stored as digests',
    );
    await testGlobals().smtp.waitFor(u.email, 'Two-step sign-in was turned on');
    assert.is((await query(svc.url, 'auth.me', undefined, auth(u.tokens))).status, 200, 'the enrolling session stays');
    expectError(await query(svc.url, 'auth.me', undefined, auth(other)), 'UNAUTHORIZED', 'UNAUTHENTICATED');
    const again = await mutation(
      svc.url,
      'mfa.totp.confirm',
      { factorId: enrolled.factorId, code: codeNow(enrolled.secret, clock) },
      auth(u.tokens),
    );
    expectError(again, 'NOT_FOUND', 'NOT_FOUND');
    const ev = await db.row("select details from security_events where user_id = $1 and event_type = 'mfa_enrolled'", [
      u.tokens.user.id,
    ]);
    assert.is(ev.details.first, true);
  },
);

s(
  'mfa.list shows confirmed factors and unused recovery codes; a second factor brings no new codes',
  async ({ svc, clock }) => {
    const u = await totpUser(svc, clock);
    nextStep(clock);
    const second = (
      await mutation(svc.url, 'mfa.totp.enroll', { code: codeNow(u.secret, clock), name: 'Tablet' }, auth(u.tokens))
    ).data;
    assert.ok(second?.factorId, 'a current TOTP code is re-auth too');
    const confirmed = await mutation(
      svc.url,
      'mfa.totp.confirm',
      { factorId: second.factorId, code: codeNow(second.secret, clock) },
      auth(u.tokens),
    );
    assert.equal(confirmed.data, { recoveryCodes: null });
    const list = await query(svc.url, 'mfa.list', undefined, auth(u.tokens));
    assert.equal(
      list.data.factors.map((f: { kind: string; name: string }) => [f.kind, f.name]),
      [
        ['totp', 'Authenticator app'],
        ['totp', 'Tablet'],
      ],
    );
    assert.is(list.data.recoveryCodesLeft, 10);
    assert.equal(Object.keys(list.data.factors[0]).sort(), ['createdAt', 'id', 'kind', 'lastUsedAt', 'name']);
  },
);

s(
  'removing needs re-auth; removing the last factor removes the recovery codes, mails the owner, and login needs the password only',
  async ({ svc, clock, db }) => {
    const u = await totpUser(svc, clock);
    expectError(
      await mutation(svc.url, 'mfa.remove', { factorId: u.factorId }, auth(u.tokens)),
      'FORBIDDEN',
      'REAUTH_REQUIRED',
    );
    expectError(
      await mutation(svc.url, 'mfa.remove', { factorId: u.factorId, code: '000000' }, auth(u.tokens)),
      'UNAUTHORIZED',
      'INVALID_MFA_CODE',
    );
    const stranger = await createVerifiedUser(svc.url);
    const foreign = await mutation(
      svc.url,
      'mfa.remove',
      { factorId: u.factorId, currentPassword: stranger.password },
      auth(stranger.tokens),
    );
    expectError(foreign, 'NOT_FOUND', 'NOT_FOUND');
    const removed = await mutation(
      svc.url,
      'mfa.remove',
      { factorId: u.factorId, code: u.recoveryCodes[0] },
      auth(u.tokens),
    );
    assert.is(removed.status, 200, JSON.stringify(removed.body));
    assert.equal(removed.data, { ok: true });
    assert.is((await db.row('select count(*)::int as n from recovery_codes where user_id = $1', [u.id]))!.n, 0);
    await testGlobals().smtp.waitFor(u.email, 'Two-step sign-in was turned off');
    const login = await mutation<TokenPair>(svc.url, 'auth.login', { email: u.email, password: u.password });
    assert.type(login.data.accessToken, 'string');
    const ev = await db.row("select details from security_events where user_id = $1 and event_type = 'mfa_removed'", [
      u.id,
    ]);
    assert.is(ev.details.last, true);
  },
);

s(
  'regenerating recovery codes needs re-auth; the old codes stop working, the new ones work',
  async ({ svc, clock }) => {
    const u = await totpUser(svc, clock);
    expectError(
      await mutation(svc.url, 'mfa.recoveryCodes.regenerate', {}, auth(u.tokens)),
      'FORBIDDEN',
      'REAUTH_REQUIRED',
    );
    const res = await mutation(
      svc.url,
      'mfa.recoveryCodes.regenerate',
      { currentPassword: u.password },
      auth(u.tokens),
    );
    assert.is(res.status, 200, JSON.stringify(res.body));
    assert.is(res.data.recoveryCodes.length, 10);
    expectError(
      await verify(svc.url, (await challenge(svc.url, u.email, u.password)).mfaToken, u.recoveryCodes[1]!),
      'UNAUTHORIZED',
      'INVALID_MFA_CODE',
    );
    assert.is(
      (await verify(svc.url, (await challenge(svc.url, u.email, u.password)).mfaToken, res.data.recoveryCodes[1]))
        .status,
      200,
    );
    const none = await createVerifiedUser(svc.url);
    expectError(
      await mutation(svc.url, 'mfa.recoveryCodes.regenerate', { currentPassword: none.password }, auth(none.tokens)),
      'NOT_FOUND',
      'NOT_FOUND',
    );
  },
);

s(
  'admin.users.resetMfa: superuser only; removes every factor and code, ends sessions, mails the user; mfaEnabled follows',
  async ({ svc, clock, db }) => {
    const root = await createSuperuser(svc);
    const u = await totpUser(svc, clock);
    const before = await query(svc.url, 'admin.users.get', { userId: u.id }, auth(root.tokens));
    assert.is(before.data.mfaEnabled, true);
    expectError(
      await mutation(svc.url, 'admin.users.resetMfa', { userId: u.id }, auth(u.tokens)),
      'FORBIDDEN',
      'FORBIDDEN',
    );
    const pending = await challenge(svc.url, u.email, u.password);
    const res = await mutation(svc.url, 'admin.users.resetMfa', { userId: u.id }, auth(root.tokens));
    assert.equal(res.data, { ok: true });
    assert.is((await db.row('select count(*)::int as n from mfa_factors where user_id = $1', [u.id]))!.n, 0);
    assert.is((await db.row('select count(*)::int as n from recovery_codes where user_id = $1', [u.id]))!.n, 0);
    expectError(await query(svc.url, 'auth.me', undefined, auth(u.tokens)), 'UNAUTHORIZED', 'UNAUTHENTICATED');
    expectError(
      await verify(svc.url, pending.mfaToken, codeNow(u.secret, clock)),
      'UNAUTHORIZED',
      'MFA_CHALLENGE_EXPIRED',
    );
    await testGlobals().smtp.waitFor(u.email, 'Two-step sign-in was turned off');
    const after = await query(svc.url, 'admin.users.list', { query: u.email }, auth(root.tokens));
    assert.is(after.data.items[0].mfaEnabled, false);
    const ev = await db.row("select severity from security_events where user_id = $1 and event_type = 'mfa_reset'", [
      u.id,
    ]);
    assert.is(ev.severity, 'warning');
    const audit = await db.rows(
      "select details from security_events where user_id = $1 and event_type = 'admin_action'",
      [u.id],
    );
    assert.ok(audit.some((a) => a.details.action === 'users.resetMfa' && a.details.actor_id === root.id));
    assert.type(
      (await mutation<TokenPair>(svc.url, 'auth.login', { email: u.email, password: u.password })).data.accessToken,
      'string',
    );
  },
);

s('npm run admin -- reset-mfa <email> turns two-step sign-in off and says what it did', async ({ svc, clock, db }) => {
  const u = await totpUser(svc, clock);
  const r = await admin(['reset-mfa', u.email]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `reset two-step sign-in of ${u.email}: 1 factor removed`);
  assert.is((await db.row('select count(*)::int as n from mfa_factors where user_id = $1', [u.id]))!.n, 0);
  const unknown = await admin(['reset-mfa', 'nobody-here@example.com']);
  assert.is.not(unknown.code, 0);
  assert.match(unknown.stderr, 'no user with email');
});

s.run();
