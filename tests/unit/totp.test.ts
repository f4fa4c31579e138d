import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { normaliseRecoveryCode, newRecoveryCode, newRecoveryCodes } from '../../server/security/recovery-code.js';
import { base32Of, matchTotp, newTotpSecret, totpCode, totpStep, totpUri } from '../../server/security/totp.js';

const s = suite('unit: totp and recovery codes');

// RFC 6238 appendix B: the SHA-1 secret is the ASCII string "12345678901234567890".
const RFC_SECRET = base32Of(Buffer.from('12345678901234567890', 'ascii'));
const RFC_VECTORS: Array<[seconds: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

s('the RFC 6238 appendix B SHA-1 vectors (8 digits), and their 6-digit truncation', () => {
  for (const [seconds, code] of RFC_VECTORS) {
    const step = totpStep(new Date(seconds * 1000));
    assert.is(totpCode(RFC_SECRET, step, 8), code, `T=${seconds}`);
    assert.is(totpCode(RFC_SECRET, step), code.slice(2), `T=${seconds}, 6 digits`);
  }
});

s('a code is accepted in its own step and one step either side, and names the step it belongs to', () => {
  const now = new Date(1_111_111_111_000);
  const step = totpStep(now);
  for (const delta of [-1, 0, 1])
    assert.is(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step + delta), now), step + delta);
});

s("a code two steps away, a malformed code and another secret's code are refused", () => {
  const now = new Date(1_234_567_890_000);
  const step = totpStep(now);
  assert.is(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step - 2), now), null);
  assert.is(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step + 2), now), null);
  assert.is(matchTotp(RFC_SECRET, '12345', now), null);
  assert.is(matchTotp(RFC_SECRET, 'abcdef', now), null);
  const other = newTotpSecret().base32;
  const code = totpCode(other, step);
  if (code !== totpCode(RFC_SECRET, step)) assert.is(matchTotp(RFC_SECRET, code, now), null);
});

s('a new secret is 160 bits of base32, and the URI names issuer, account and the RFC parameters', () => {
  const { base32 } = newTotpSecret();
  assert.match(base32, /^[A-Z2-7]{32}$/);
  assert.is.not(newTotpSecret().base32, base32);
  const uri = new URL(totpUri(base32, 'secure-auth', 'alice@example.com'));
  assert.is(uri.protocol, 'otpauth:');
  assert.is(uri.host, 'totp');
  assert.is(decodeURIComponent(uri.pathname), '/secure-auth:alice@example.com');
  assert.is(uri.searchParams.get('secret'), base32);
  assert.is(uri.searchParams.get('issuer'), 'secure-auth');
  assert.is(uri.searchParams.get('algorithm'), 'SHA1');
  assert.is(uri.searchParams.get('digits'), '6');
  assert.is(uri.searchParams.get('period'), '30');
});

s('recovery codes: ten distinct xxxxx-xxxxx codes of an alphabet without look-alikes', () => {
  const codes = newRecoveryCodes();
  assert.is(codes.length, 10);
  assert.is(new Set(codes).size, 10);
  for (const code of codes) assert.match(code, /^[a-hjkmnp-z2-9]{5}-[a-hjkmnp-z2-9]{5}$/);
  for (let i = 0; i < 200; i++) assert.not.match(newRecoveryCode(), /[01ilo]/);
});

s('recovery codes are accepted with or without the dash, in any case, and anything else is not a code', () => {
  const code = newRecoveryCode();
  const canonical = code.replace('-', '');
  assert.is(normaliseRecoveryCode(code), canonical);
  assert.is(normaliseRecoveryCode(code.toUpperCase()), canonical);
  assert.is(normaliseRecoveryCode(` ${canonical.toUpperCase()} `), canonical);
  assert.is(normaliseRecoveryCode('123456'), null);
  assert.is(normaliseRecoveryCode('abcde-fghi1'), null);
  assert.is(normaliseRecoveryCode('abcde-fghjkm'), null);
});

s.run();
