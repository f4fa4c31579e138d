import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { ManualClock } from '../support/clock.js';
import { expectError, expectLocked, openDb, type TestDb } from '../support/accounts.js';
import { mutation, query } from '../support/http.js';
import { challenge, claimsOf } from '../support/mfa.js';
import { startService, type TestService } from '../support/service.js';
import { getAssertion, makeCredential, type SoftCredential } from '../support/soft-authenticator.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

// The test service's PUBLIC_URL is http://auth.test.local: its RP ID and origin.
const AT = { origin: 'http://auth.test.local', rpId: 'auth.test.local' };

const s = suite<{ svc: TestService; clock: ManualClock; db: TestDb }>('api: passkeys');
s.before(async (ctx) => {
  ctx.clock = new ManualClock();
  ctx.svc = await startService({ LOCKOUT_THRESHOLD: '3' }, { clock: ctx.clock });
  ctx.db = openDb();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const auth = (pair: TokenPair) => ({ token: pair.accessToken });

async function passkeyUser(
  svc: TestService,
): Promise<TestUser & { id: string; soft: SoftCredential; factorId: string; recoveryCodes: string[] | null }> {
  const u = await createVerifiedUser(svc.url);
  const options = await mutation(
    svc.url,
    'mfa.passkey.registerOptions',
    { currentPassword: u.password },
    auth(u.tokens),
  );
  assert.is(options.status, 200, JSON.stringify(options.body));
  const { credential, response } = makeCredential(options.data, AT);
  const reg = await mutation(svc.url, 'mfa.passkey.register', { response, name: 'Laptop' }, auth(u.tokens));
  assert.is(reg.status, 200, JSON.stringify(reg.body));
  return {
    ...u,
    id: u.tokens.user.id,
    soft: credential,
    factorId: reg.data.factorId,
    recoveryCodes: reg.data.recoveryCodes,
  };
}

s(
  'registering a passkey needs re-auth; the options ask for a discoverable credential with user verification',
  async ({ svc }) => {
    const u = await createVerifiedUser(svc.url);
    expectError(
      await mutation(svc.url, 'mfa.passkey.registerOptions', {}, auth(u.tokens)),
      'FORBIDDEN',
      'REAUTH_REQUIRED',
    );
    const options = await mutation(
      svc.url,
      'mfa.passkey.registerOptions',
      { currentPassword: u.password },
      auth(u.tokens),
    );
    assert.is(options.data.rp.id, 'auth.test.local');
    assert.is(options.data.authenticatorSelection.residentKey, 'required');
    assert.is(options.data.authenticatorSelection.userVerification, 'required');
  },
);

s(
  'a registered passkey is a factor: listed, the first brings recovery codes, stored without the challenge in plaintext',
  async ({ svc, db }) => {
    const u = await passkeyUser(svc);
    assert.is(u.recoveryCodes?.length, 10);
    const list = await query(svc.url, 'mfa.list', undefined, auth(u.tokens));
    assert.equal(
      list.data.factors.map((f: { kind: string; name: string }) => [f.kind, f.name]),
      [['passkey', 'Laptop']],
    );
    const row = await db.row('select credential_id, sign_count, transports from mfa_factors where id = $1', [
      u.factorId,
    ]);
    assert.is(row.credential_id, u.soft.id);
    assert.is(row.transports, 'internal');
    const ev = await db.row(
      "select count(*)::int as n from security_events where user_id = $1 and event_type = 'passkey_registered'",
      [u.id],
    );
    assert.is(ev.n, 1);
  },
);

s(
  'a registration answers its own challenge once; a response for another origin is refused and burns the challenge',
  async ({ svc }) => {
    const u = await createVerifiedUser(svc.url);
    const burnt = (
      await mutation(svc.url, 'mfa.passkey.registerOptions', { currentPassword: u.password }, auth(u.tokens))
    ).data;
    const wrongOrigin = makeCredential(burnt, { ...AT, origin: 'http://evil.test.local' }).response;
    expectError(
      await mutation(svc.url, 'mfa.passkey.register', { response: wrongOrigin }, auth(u.tokens)),
      'UNAUTHORIZED',
      'INVALID_MFA_CODE',
    );
    const afterwards = makeCredential(burnt, AT).response;
    expectError(
      await mutation(svc.url, 'mfa.passkey.register', { response: afterwards }, auth(u.tokens)),
      'UNAUTHORIZED',
      'INVALID_MFA_CODE',
    );
    const options = (
      await mutation(svc.url, 'mfa.passkey.registerOptions', { currentPassword: u.password }, auth(u.tokens))
    ).data;
    const { response } = makeCredential(options, AT);
    assert.is((await mutation(svc.url, 'mfa.passkey.register', { response }, auth(u.tokens))).status, 200);
    const again = makeCredential(options, AT).response;
    expectError(
      await mutation(svc.url, 'mfa.passkey.register', { response: again }, auth(u.tokens)),
      'UNAUTHORIZED',
      'INVALID_MFA_CODE',
    );
  },
);

s('a passkey as the second factor: amr ["pwd","hwk"]; its assertion cannot be replayed', async ({ svc, clock }) => {
  const u = await passkeyUser(svc);
  void clock;
  const c = await challenge(svc.url, u.email, u.password);
  assert.equal(c.methods, ['passkey', 'recovery_code']);
  const options = await mutation(svc.url, 'auth.mfa.passkeyOptions', { mfaToken: c.mfaToken });
  assert.is(options.status, 200, JSON.stringify(options.body));
  assert.equal(
    options.data.allowCredentials.map((x: { id: string }) => x.id),
    [u.soft.id],
  );
  assert.is(options.data.userVerification, 'required');
  const response = getAssertion(u.soft, options.data, AT);
  const res = await mutation<TokenPair>(svc.url, 'auth.mfa.passkeyVerify', { mfaToken: c.mfaToken, response });
  assert.is(res.status, 200, JSON.stringify(res.body));
  assert.equal((await claimsOf(svc, res.data.accessToken)).amr, ['pwd', 'hwk']);
  const c2 = await challenge(svc.url, u.email, u.password);
  expectError(
    await mutation(svc.url, 'auth.mfa.passkeyVerify', { mfaToken: c2.mfaToken, response }),
    'UNAUTHORIZED',
    'INVALID_MFA_CODE',
  );
  expectError(
    await mutation(svc.url, 'auth.mfa.passkeyVerify', { mfaToken: c.mfaToken, response }),
    'UNAUTHORIZED',
    'MFA_CHALLENGE_EXPIRED',
  );
});

s("another account's passkey does not answer this account's challenge", async ({ svc }) => {
  const a = await passkeyUser(svc);
  const b = await passkeyUser(svc);
  const c = await challenge(svc.url, a.email, a.password);
  const options = (await mutation(svc.url, 'auth.mfa.passkeyOptions', { mfaToken: c.mfaToken })).data;
  const res = await mutation(svc.url, 'auth.mfa.passkeyVerify', {
    mfaToken: c.mfaToken,
    response: getAssertion(b.soft, options, AT),
  });
  expectError(res, 'UNAUTHORIZED', 'INVALID_MFA_CODE');
});

s('passwordless sign-in with a discoverable passkey: amr ["hwk","user"]; the challenge works once', async ({ svc }) => {
  const u = await passkeyUser(svc);
  const start = await mutation(svc.url, 'auth.passkey.loginOptions');
  assert.is(start.status, 200);
  assert.type(start.data.challengeId, 'string');
  assert.is(start.data.options.allowCredentials, undefined, 'discoverable: no credential list');
  assert.is(start.data.options.userVerification, 'required');
  const response = getAssertion(u.soft, start.data.options, AT);
  const res = await mutation<TokenPair>(svc.url, 'auth.passkey.login', {
    challengeId: start.data.challengeId,
    response,
  });
  assert.is(res.status, 200, JSON.stringify(res.body));
  assert.is(res.data.user.id, u.id);
  assert.equal((await claimsOf(svc, res.data.accessToken)).amr, ['hwk', 'user']);
  const replay = await mutation(svc.url, 'auth.passkey.login', {
    challengeId: start.data.challengeId,
    response: getAssertion(u.soft, start.data.options, AT),
  });
  expectError(replay, 'UNAUTHORIZED', 'INVALID_CREDENTIALS');
  const unverified = await mutation(svc.url, 'auth.passkey.loginOptions');
  const noUv = getAssertion(u.soft, unverified.data.options, AT, { userVerified: false });
  expectError(
    await mutation(svc.url, 'auth.passkey.login', { challengeId: unverified.data.challengeId, response: noUv }),
    'UNAUTHORIZED',
    'INVALID_CREDENTIALS',
  );
});

s('a sign counter that goes backwards is refused with a SECURITY_ALERT', async ({ svc }) => {
  const u = await passkeyUser(svc);
  const first = (await mutation(svc.url, 'auth.passkey.loginOptions')).data;
  assert.is(
    (
      await mutation(svc.url, 'auth.passkey.login', {
        challengeId: first.challengeId,
        response: getAssertion(u.soft, first.options, AT, { counter: 7 }),
      })
    ).status,
    200,
  );
  const second = (await mutation(svc.url, 'auth.passkey.loginOptions')).data;
  const cloned = getAssertion(u.soft, second.options, AT, { counter: 3 });
  expectError(
    await mutation(svc.url, 'auth.passkey.login', { challengeId: second.challengeId, response: cloned }),
    'UNAUTHORIZED',
    'INVALID_CREDENTIALS',
  );
  const alert = svc.logs.find(
    (l) => l.includes('"event_type":"passkey_counter_regression"') && l.includes(`"user_id":"${u.id}"`),
  );
  assert.ok(alert, 'an alert line');
  assert.match(alert!, '"msg":"SECURITY_ALERT"');
  assert.match(alert!, '"severity":"critical"');
});

s('a locked account is refused on the passkey paths too', async ({ svc }) => {
  const u = await passkeyUser(svc);
  const c = await challenge(svc.url, u.email, u.password);
  for (let i = 0; i < 3; i++)
    await mutation(svc.url, 'auth.login', { email: u.email, password: `wrong password number ${i}!` });
  const start = (await mutation(svc.url, 'auth.passkey.loginOptions')).data;
  expectLocked(
    await mutation(svc.url, 'auth.passkey.login', {
      challengeId: start.challengeId,
      response: getAssertion(u.soft, start.options, AT),
    }),
  );
  expectLocked(await mutation(svc.url, 'auth.mfa.passkeyOptions', { mfaToken: c.mfaToken }));
});

s('one credential id belongs to one account', async ({ svc }) => {
  const a = await passkeyUser(svc);
  const b = await createVerifiedUser(svc.url);
  const options = (
    await mutation(svc.url, 'mfa.passkey.registerOptions', { currentPassword: b.password }, auth(b.tokens))
  ).data;
  // The same authenticator credential, registered again for a second account.
  const { response } = makeCredential(options, AT, 'ES256', a.soft);
  const res = await mutation(svc.url, 'mfa.passkey.register', { response }, auth(b.tokens));
  expectError(res, 'BAD_REQUEST', 'INVALID_INPUT');
  const list = await query(svc.url, 'mfa.list', undefined, auth(b.tokens));
  assert.equal(list.data.factors, []);
});

s.run();
