import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ipKey } from '../../server/rate-limit/ip-key.js';

/** Which addresses share one IP rate-limit counter. */
const s = suite('rate-limit IP keys');

const CASES: Array<[string, string]> = [
  ['203.0.113.7', '203.0.113.7'],
  ['::ffff:203.0.113.7', '203.0.113.7'],
  ['::FFFF:203.0.113.7', '203.0.113.7'],
  ['2001:db8:aaaa:bbbb:1:2:3:4', '2001:db8:aaaa:bbbb::/64'],
  ['2001:0db8:aaaa:bbbb:ffff:ffff:ffff:ffff', '2001:db8:aaaa:bbbb::/64'],
  ['2001:db8::1', '2001:db8:0:0::/64'],
  ['2001:db8:0:0:dead::beef', '2001:db8:0:0::/64'],
  ['::1', '0:0:0:0::/64'],
  ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
];

for (const [ip, key] of CASES) {
  s(`${ip} -> ${key}`, () => {
    assert.is(ipKey(ip), key);
  });
}

s.run();
