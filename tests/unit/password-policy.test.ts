import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_PASSWORD_LENGTH, PasswordPolicy } from '../../server/services/password-policy.js';

const s = suite('unit: password policy');
const policy = new PasswordPolicy(15);
const EMAIL = 'marguerite.kowalski@example.com';
// zxcvbn scores this 4; it has no part of the email or the service name.
const STRONG = 'Velvet-Harbor-Quince-92-xQ';

const cases: Array<[name: string, password: string, expected: string | null, email?: string]> = [
  ['a strong passphrase', STRONG, null],
  ['14 characters', 'Zq8#vR2m!xL9wK', 'too_short'],
  ['15 random characters', 'Zq8#vR2m!xL9wKt', null],
  ['14 emoji are 14 characters, not 28', '🦊🐙🦉🐳🦄🐝🦋🐢🦀🐬🦩🐌🦥🐧', 'too_short'],
  ['15 emoji', '🦊🐙🦉🐳🦄🐝🦋🐢🦀🐬🦩🐌🦥🐧🐞', null],
  ['a fullwidth string counts its NFKC form', 'Ｚｑ８ｖＲ２ｍｘＬ９ｗＫ', 'too_short'],
  ['256 characters', (STRONG + '-').repeat(10).slice(0, MAX_PASSWORD_LENGTH), null],
  ['257 characters', (STRONG + '-').repeat(10).slice(0, MAX_PASSWORD_LENGTH + 1), 'too_long'],
  ['a dictionary word plus digits', 'password1234567890', 'too_guessable'],
  ['one repeated letter', 'aaaaaaaaaaaaaaaaaaaa', 'too_guessable'],
  ['a keyboard row', 'qwertyuiopasdfghjkl', 'too_guessable'],
  ['a sequence', '12345678901234567890', 'too_guessable'],
  ['a common phrase', 'iloveyouiloveyou', 'too_guessable'],
  ['the email local part', 'Tundra-marguerite.kowalski-71', 'contains_email'],
  ['the local part in another case', 'Tundra-MARGUERITE.Kowalski-71', 'contains_email'],
  ['the service name', 'Tundra-Pebble-secure-auth-71', 'contains_service_name'],
  ['the service name in capitals', 'Tundra-Pebble-SECURE-AUTH-71', 'contains_service_name'],
  ['a two-letter local part is not matched inside words', 'Velvet-Harbor-Quince-92-ab', null, 'ab@example.com'],
];

for (const [name, password, expected, email] of cases) {
  s(`${name} -> ${expected ?? 'accepted'}`, () => {
    assert.is(policy.check(password, email ?? EMAIL), expected);
  });
}

s('length is checked before content: a short password that contains the email is too_short', () => {
  assert.is(policy.check('marguerite.k', 'marguerite.k@example.com'), 'too_short');
});

s('the minimum follows the configuration', () => {
  const twenty = new PasswordPolicy(20);
  assert.is(twenty.check('Zq8#vR2m!xL9wKt4Yp1', EMAIL), 'too_short');
  assert.is(twenty.check('Zq8#vR2m!xL9wKt4Yp1@', EMAIL), null);
  assert.is(new PasswordPolicy(8).check('Zq8#vR2m!x', EMAIL), null);
  assert.is(new PasswordPolicy(8).check('Zq8#vR2', EMAIL), 'too_short');
});

s('a long password is judged without truncating away its weakness in the first 100 characters', () => {
  assert.is(policy.check('a'.repeat(200), EMAIL), 'too_guessable');
});

s.run();
