import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, openWithAny, seal } from '../../server/email/sealed-payload.js';

/**
 * Outbox payloads are AES-256-GCM with a full 128-bit tag. GCM also accepts
 * shorter tags (a prefix of the real one still verifies), so a decrypter
 * that takes the tag length from the input can be fed a 4-byte tag: a
 * forgery then needs 2^32 tries instead of 2^128.
 */
const s = suite('unit: sealed payload');
const key = randomBytes(32);

s('a sealed payload opens with its key and not with another', () => {
  const sealed = seal(key, 'https://auth.test.local/reset-password?token=abc');
  assert.is(open(key, sealed), 'https://auth.test.local/reset-password?token=abc');
  assert.is(openWithAny([randomBytes(32)], sealed), undefined);
  assert.is(openWithAny([randomBytes(32), key], sealed), 'https://auth.test.local/reset-password?token=abc');
});

s('a truncated tag is refused, even a true prefix of the real one', () => {
  const raw = Buffer.from(seal(key, ''), 'base64url');
  for (const tagBytes of [4, 8, 12, 15]) {
    const truncated = raw.subarray(0, 12 + tagBytes).toString('base64url');
    assert.throws(() => open(key, truncated), undefined, `${tagBytes}-byte tag`);
    assert.is(openWithAny([key], truncated), undefined);
  }
});

s('short, empty and tampered inputs are refused', () => {
  const sealed = seal(key, 'payload');
  const raw = Buffer.from(sealed, 'base64url');
  for (const bad of ['', 'AAAA', raw.subarray(0, 27).toString('base64url')])
    assert.is(openWithAny([key], bad), undefined);
  const flipped = Buffer.from(raw);
  flipped[raw.length - 1]! ^= 1;
  assert.is(openWithAny([key], flipped.toString('base64url')), undefined);
});

s.run();
