import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isStorableEmail, normaliseEmail } from '../../server/services/email-normaliser.js';

const s = suite('unit: email normaliser');

const cases: Array<[name: string, input: string, expected: string]> = [
  ['already canonical', 'alice@example.com', 'alice@example.com'],
  ['surrounding spaces and mixed case', '  Alice@Example.COM ', 'alice@example.com'],
  ['tabs and newlines', '\tALICE@example.com\n', 'alice@example.com'],
  ['fullwidth letters (NFKC)', 'ａｌｉｃｅ@ｅｘａｍｐｌｅ.com', 'alice@example.com'],
  ['fullwidth capitals', 'ＡＬＩＣＥ@example.com', 'alice@example.com'],
  ['an ideographic space is trimmed', '\u3000alice@example.com\u3000', 'alice@example.com'],
  ['a ligature', 'ﬁnn@example.com', 'finn@example.com'],
  ['composed and decomposed accents agree', 'Jose\u0301@example.com', 'josé@example.com'],
  ['non-Latin lower-casing', 'ΣΟΦΙΑ@παράδειγμα.ελ', 'σοφια@παράδειγμα.ελ'],
];
for (const [name, input, expected] of cases) {
  s(name, () => {
    assert.is(normaliseEmail(input), expected);
  });
}

s('normalising is idempotent', () => {
  for (const [, input] of cases) {
    const once = normaliseEmail(input);
    assert.is(normaliseEmail(once), once, input);
  }
});

s('isStorableEmail: still an address after normalising', () => {
  assert.ok(isStorableEmail('alice@example.com'));
  assert.ok(isStorableEmail(normaliseEmail('ａｌｉｃｅ@example.com')));
  assert.not.ok(isStorableEmail(normaliseEmail(`${'㎞'.repeat(130)}@example.com`)), 'expanded past 254');
  assert.not.ok(isStorableEmail(normaliseEmail('victim﹫example.com@attacker.example')), 'a second @');
  assert.not.ok(isStorableEmail(normaliseEmail('aﷺ@example.com')), 'inner spaces');
});

s('isStorableEmail: one plain address, not address-list syntax or invisible characters', () => {
  for (const ok of ['a+tag@example.com', "o'brien@example.ie", 'first.last@sub.example.co.uk', 'josé@例え.jp']) {
    assert.ok(isStorableEmail(ok), ok);
  }
  for (const bad of [
    'x<v@example.com>',
    'x,v@example.com',
    'x;v@example.com',
    '"x"v@example.com',
    'x(c)v@example.com',
    'v@[127.0.0.1]',
    'x\\v@example.com',
    'x\u200bv@example.com',
    'x\u0000v@example.com',
  ]) {
    assert.not.ok(isStorableEmail(bad), JSON.stringify(bad));
  }
});

s.run();
