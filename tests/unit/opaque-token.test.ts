import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyring } from '../../server/security/keyring.js';
import { newEmailToken, RefreshTokenCodec } from '../../server/security/opaque-token.js';

const s = suite('unit: opaque-token');

const SECRET_OLD = 'opaque-token-old-secret-0123456789abcdefghij';
const SECRET_NEW = 'opaque-token-new-secret-0123456789abcdefghij';
const codec = new RefreshTokenCodec(new Keyring(SECRET_NEW));
const sha256 = (v: string) => createHash('sha256').update(v).digest('base64url');

function flip(token: string, byteIndex: number): string {
  const raw = Buffer.from(token, 'base64url');
  raw[byteIndex] = raw[byteIndex]! ^ 0x01;
  return raw.toString('base64url');
}

s('a new token is base64url of 68 bytes (>= 256 secret bits); only its digest is kept', () => {
  const { id, token, tokenHash } = codec.create();
  assert.match(token, /^[A-Za-z0-9_-]{91}$/);
  assert.is(Buffer.from(token, 'base64url').length, 68);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is(tokenHash, sha256(token));
  assert.not.ok(tokenHash.includes(token));
});

s('parse accepts its own tokens and returns id, digest, family and generation', () => {
  const { id, token, tokenHash } = codec.create();
  assert.equal(codec.parse(token), { id, tokenHash, familyId: id, generation: 0 });
  const next = codec.create({ familyId: id, generation: 7 });
  assert.equal(codec.parse(next.token), { id: next.id, tokenHash: next.tokenHash, familyId: id, generation: 7 });
});

s('family and generation are under the MAC: changing either breaks the token', () => {
  const { token } = codec.create({ familyId: '00000000-0000-4000-8000-000000000001', generation: 3 });
  for (const i of [16, 31, 32, 35]) assert.is(codec.parse(flip(token, i)), undefined, `byte ${i}`);
});

s('two tokens are never equal', () => {
  const seen = new Set(Array.from({ length: 200 }, () => codec.create().token));
  assert.is(seen.size, 200);
});

s('rederive gives back exactly the same token from id and digest', () => {
  const created = codec.create({ familyId: '00000000-0000-4000-8000-000000000002', generation: 4 });
  assert.is(codec.rederive(created, created.tokenHash), created.token);
  // A digest of something else matches no derivation.
  assert.is(codec.rederive(created, sha256('other')), undefined);
});

s('parse rejects a tampered MAC, a tampered id, and a token of another secret', () => {
  const { token } = codec.create();
  for (const i of [36, 50, 67]) assert.is(codec.parse(flip(token, i)), undefined, `mac byte ${i}`);
  for (const i of [0, 8, 15]) assert.is(codec.parse(flip(token, i)), undefined, `id byte ${i}`);
  const foreign = new RefreshTokenCodec(new Keyring(SECRET_OLD)).create().token;
  assert.is(codec.parse(foreign), undefined);
});

s('parse rejects wrong lengths and non-base64url text', () => {
  const { token } = codec.create();
  const raw = Buffer.from(token, 'base64url');
  const cases: Record<string, string> = {
    empty: '',
    truncated: raw.subarray(0, 67).toString('base64url'),
    extended: Buffer.concat([raw, Buffer.from([0])]).toString('base64url'),
    'one char short': token.slice(0, -1),
    'one char more': token + 'A',
    'standard base64 alphabet': raw.toString('base64'),
    padded: token + '==',
    'with space': token.slice(0, 10) + ' ' + token.slice(11),
    'with dot': token.slice(0, 10) + '.' + token.slice(11),
    unicode: token.slice(0, 90) + 'é',
    garbage: 'x'.repeat(91),
    huge: 'A'.repeat(100_000),
  };
  // Make sure the standard-alphabet case really differs from base64url.
  if (!/[+/]/.test(cases['standard base64 alphabet']!)) cases['standard base64 alphabet'] = token.slice(0, 90) + '+';
  for (const [name, value] of Object.entries(cases)) assert.is(codec.parse(value), undefined, name);
});

s('after SECRET_KEY rotation, tokens of the previous key still parse and rederive', () => {
  const oldCodec = new RefreshTokenCodec(new Keyring(SECRET_OLD));
  const rotated = new RefreshTokenCodec(new Keyring(SECRET_NEW, [SECRET_OLD]));
  const made = oldCodec.create();
  assert.equal(rotated.parse(made.token), { id: made.id, tokenHash: made.tokenHash, familyId: made.id, generation: 0 });
  assert.is(rotated.rederive(made, made.tokenHash), made.token);
  // New tokens are made under the current key only.
  const fresh = rotated.create();
  assert.ok(codec.parse(fresh.token));
  assert.is(oldCodec.parse(fresh.token), undefined);
});

s('tokens of the first layout (id and MAC only) still parse, without a family, and rederive', () => {
  const keyring = new Keyring(SECRET_NEW);
  const id = '11111111-2222-4333-8444-555555555555';
  const idBytes = Buffer.from(id.replace(/-/g, ''), 'hex');
  const legacy = Buffer.concat([idBytes, keyring.refreshSecrets(idBytes)[0]!]).toString('base64url');
  assert.equal(codec.parse(legacy), { id, tokenHash: sha256(legacy) });
  assert.is(codec.rederive({ id, familyId: id, generation: 0 }, sha256(legacy)), legacy);
  assert.is(codec.parse(flip(legacy, 40)), undefined);
});

s('email tokens are 256-bit base64url and unique', () => {
  const a = newEmailToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.is(Buffer.from(a, 'base64url').length, 32);
  assert.is.not(a, newEmailToken());
});

s.run();
