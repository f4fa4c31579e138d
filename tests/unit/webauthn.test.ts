import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PasskeyError, Webauthn, type StoredCredential } from '../../server/security/webauthn.js';
import { getAssertion, makeCredential, type SoftCredential } from '../support/soft-authenticator.js';

const RP = { rpId: 'auth.example.com', rpName: 'secure-auth', origins: ['https://auth.example.com'] };
const AT = { origin: 'https://auth.example.com', rpId: 'auth.example.com' };
const webauthn = new Webauthn(RP);

/** A challenge store as the service keeps one: each issued challenge works once. */
function challenges() {
  const live = new Set<string>();
  return {
    issue: (c: string) => live.add(c),
    check: async (c: string) => live.delete(c),
  };
}

async function registered(): Promise<{ soft: SoftCredential; stored: StoredCredential }> {
  const store = challenges();
  const options = await webauthn.registrationOptions(
    { id: '0b6a3a52-5f0e-4c36-9a57-8d5b7c1e2f10', email: 'a@example.com' },
    [],
  );
  store.issue(options.challenge);
  const { credential, response } = makeCredential(options, AT);
  const created = await webauthn.verifyRegistration(response as never, store.check);
  return { soft: credential, stored: created };
}

async function assertWith(stored: StoredCredential, make: (challenge: string) => Record<string, unknown>) {
  const store = challenges();
  const options = await webauthn.authenticationOptions([stored]);
  store.issue(options.challenge);
  return webauthn.verifyAuthentication(make(options.challenge) as never, stored, store.check);
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, PasskeyError);
    return (err as PasskeyError).reason;
  }
  throw new Error('expected a PasskeyError');
}

const s = suite('unit: webauthn');

s(
  'registration options require a discoverable credential with user verification and offer only ES256, EdDSA, RS256',
  async () => {
    const options = await webauthn.registrationOptions({ id: 'u', email: 'a@example.com' }, []);
    assert.is(options.rp.id, 'auth.example.com');
    assert.is(options.authenticatorSelection?.residentKey, 'required');
    assert.is(options.authenticatorSelection?.userVerification, 'required');
    assert.equal(options.pubKeyCredParams.map((p) => p.alg).sort(), [-257, -8, -7].sort());
  },
);

s('a good registration and assertion verify; the counter moves forward', async () => {
  const { soft, stored } = await registered();
  assert.is(stored.credentialId, soft.id);
  assert.is(stored.counter, 0);
  const counter = await assertWith(stored, (challenge) => getAssertion(soft, { challenge }, AT));
  assert.is(counter, 1);
});

s('an assertion made for another origin is refused', async () => {
  const { soft, stored } = await registered();
  const reason = await refusal(
    assertWith(stored, (challenge) => getAssertion(soft, { challenge }, { ...AT, origin: 'https://evil.example' })),
  );
  assert.is(reason, 'invalid');
});

s('an assertion for another RP ID is refused, and so is a registration for one', async () => {
  const { soft, stored } = await registered();
  const reason = await refusal(
    assertWith(stored, (challenge) => getAssertion(soft, { challenge }, { ...AT, rpId: 'example.com' })),
  );
  assert.is(reason, 'invalid');
  const store = challenges();
  const options = await webauthn.registrationOptions({ id: 'u', email: 'a@example.com' }, []);
  store.issue(options.challenge);
  const { response } = makeCredential(options, { ...AT, rpId: 'evil.example' });
  assert.is(await refusal(webauthn.verifyRegistration(response as never, store.check)), 'invalid');
});

s('a replayed challenge is refused: each challenge answers once', async () => {
  const { soft, stored } = await registered();
  const store = challenges();
  const options = await webauthn.authenticationOptions([stored]);
  store.issue(options.challenge);
  const first = getAssertion(soft, options, AT);
  stored.counter = await webauthn.verifyAuthentication(first as never, stored, store.check);
  const second = getAssertion(soft, options, AT);
  assert.is(await refusal(webauthn.verifyAuthentication(second as never, stored, store.check)), 'invalid');
});

s(
  'a counter that goes backwards is refused as a possible clone; a zero counter (synced passkey) is accepted',
  async () => {
    const { soft, stored } = await registered();
    const moved = { ...stored, counter: 5 };
    assert.is(
      await refusal(assertWith(moved, (challenge) => getAssertion(soft, { challenge }, AT, { counter: 3 }))),
      'counter_regression',
    );
    assert.is(
      await refusal(assertWith(moved, (challenge) => getAssertion(soft, { challenge }, AT, { counter: 5 }))),
      'counter_regression',
    );
    assert.is(await assertWith(stored, (challenge) => getAssertion(soft, { challenge }, AT, { counter: 0 })), 0);
  },
);

s('a key of an algorithm outside the allow-list (ES384) cannot be registered', async () => {
  const store = challenges();
  const options = await webauthn.registrationOptions({ id: 'u', email: 'a@example.com' }, []);
  store.issue(options.challenge);
  const { response } = makeCredential(options, AT, 'ES384');
  assert.is(await refusal(webauthn.verifyRegistration(response as never, store.check)), 'invalid');
});

s('an assertion without user verification is refused', async () => {
  const { soft, stored } = await registered();
  assert.is(
    await refusal(assertWith(stored, (challenge) => getAssertion(soft, { challenge }, AT, { userVerified: false }))),
    'invalid',
  );
});

s.run();
