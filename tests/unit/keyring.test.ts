import { blake2b } from '@noble/hashes/blake2.js';
import { sign, verify } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deriveKey, Keyring, paserkPid } from '../../server/security/keyring.js';

const s = suite('unit: keyring');

const SECRET_A = 'keyring-test-secret-A-0123456789abcdefghijkl';
const SECRET_B = 'keyring-test-secret-B-0123456789abcdefghijkl';
const PID = /^k4\.pid\.[A-Za-z0-9_-]{44}$/;
const PUBLIC = /^k4\.public\.[A-Za-z0-9_-]{43}$/;

// Official PASERK test vectors (paserk/test-vectors/k4.pid.json): public key bytes -> id.
const PID_VECTORS: Array<[string, string]> = [
  [
    '0000000000000000000000000000000000000000000000000000000000000000',
    'k4.pid.S_XQmeEwHbbvRmiyfXfHYpLGjXGzjTRSDoT1YtTakWFE',
  ],
  [
    '707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f',
    'k4.pid.9ShR3xc8-qVJ_di0tc9nx0IDIqbatdeM2mqLFBJsKRHs',
  ],
  [
    '707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e90',
    'k4.pid.-nyvbaTz8U6TQz7OZWW-iB3va31iAxIpUgzUcVQVmW9A',
  ],
];

s('paserkPid matches the official PASERK k4.pid test vectors', () => {
  for (const [hex, expected] of PID_VECTORS) {
    assert.is(paserkPid('k4.public.' + Buffer.from(hex, 'hex').toString('base64url')), expected);
  }
});

s('the kid is a k4.pid of the current public key (51 characters: "k4.pid." + base64url of 33 bytes)', () => {
  const ring = new Keyring(SECRET_A);
  assert.match(ring.current.kid, PID);
  assert.is(ring.current.kid.length, 51);
  assert.match(ring.current.paserk, PUBLIC);
  assert.is(ring.current.status, 'current');
  // Recomputed independently of the keyring code.
  const digest = blake2b(Buffer.from('k4.pid.' + ring.current.paserk, 'utf8'), { dkLen: 33 });
  assert.is(ring.current.kid, 'k4.pid.' + Buffer.from(digest).toString('base64url'));
  assert.is(ring.current.paserk, 'k4.public.' + ring.current.publicKeyBytes.toString('base64url'));
});

s('keys are derived deterministically from SECRET_KEY and differ between secrets', () => {
  const a1 = new Keyring(SECRET_A);
  const a2 = new Keyring(SECRET_A);
  const b = new Keyring(SECRET_B);
  assert.is(a1.current.kid, a2.current.kid);
  assert.is(a1.current.paserk, a2.current.paserk);
  assert.ok(a1.outboxKey.equals(a2.outboxKey));
  assert.is.not(a1.current.kid, b.current.kid);
  assert.not.ok(a1.outboxKey.equals(b.outboxKey));
  assert.is(a1.emailTokenDigest('tok'), a2.emailTokenDigest('tok'));
  assert.is.not(a1.emailTokenDigest('tok'), b.emailTokenDigest('tok'));
});

s('the private key signs what the published public key verifies', () => {
  const ring = new Keyring(SECRET_A);
  const msg = Buffer.from('hello');
  const sig = sign(null, msg, ring.current.privateKey);
  assert.ok(verify(null, msg, ring.current.publicKey, sig));
  assert.not.ok(verify(null, msg, new Keyring(SECRET_B).current.publicKey, sig));
});

s('one key per purpose: HKDF labels give independent keys', () => {
  const labels = ['paseto-v4-public-ed25519', 'refresh-token-secret', 'email-token-digest', 'mail-outbox-aes-256-gcm'];
  const keys = labels.map((l) => deriveKey(SECRET_A, l).toString('hex'));
  assert.is(new Set(keys).size, labels.length);
  for (const k of keys) assert.is(k.length, 64);
});

s('previous keys are listed as previous, after the current one, and still verify', () => {
  const ring = new Keyring(SECRET_B, [SECRET_A]);
  const old = new Keyring(SECRET_A);
  const published = ring.publicKeys();
  assert.equal(published, [
    { kid: ring.current.kid, paserk: ring.current.paserk, status: 'current' },
    { kid: old.current.kid, paserk: old.current.paserk, status: 'previous' },
  ]);
  assert.is(ring.verificationKey(old.current.kid)?.status, 'previous');
  assert.is(ring.verificationKey(ring.current.kid)?.status, 'current');
  assert.is(ring.verificationKey('k4.pid.' + 'A'.repeat(44)), undefined);
  // Published keys carry no private material.
  for (const k of published) assert.equal(Object.keys(k).sort(), ['kid', 'paserk', 'status']);
});

s('a previous key equal to the current one, or listed twice, is published once', () => {
  const ring = new Keyring(SECRET_B, [SECRET_B, SECRET_A, SECRET_A]);
  assert.equal(
    ring.publicKeys().map((k) => k.status),
    ['current', 'previous'],
  );
  assert.is(ring.refreshSecrets(Buffer.alloc(16)).length, 2);
});

s('refresh secrets: one per ring key, current first, keyed by id', () => {
  const ring = new Keyring(SECRET_B, [SECRET_A]);
  const id = Buffer.alloc(16, 7);
  const secrets = ring.refreshSecrets(id);
  assert.is(secrets.length, 2);
  assert.ok(secrets[0]!.equals(new Keyring(SECRET_B).refreshSecrets(id)[0]!));
  assert.ok(secrets[1]!.equals(new Keyring(SECRET_A).refreshSecrets(id)[0]!));
  assert.not.ok(secrets[0]!.equals(ring.refreshSecrets(Buffer.alloc(16, 8))[0]!));
});

s.run();
