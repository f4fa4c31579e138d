import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  lockoutSeconds,
  reachesThreshold,
  secondsUntil,
  type LockoutSettings,
} from '../../server/services/lockout-policy.js';

const s = suite('unit: lockout policy');
const settings: LockoutSettings = { threshold: 5, baseMinutes: 15, maxMinutes: 60 };
const now = new Date('2026-11-28T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const HOUR = 3600;

s('the threshold: the failure that reaches it locks', () => {
  assert.is(reachesThreshold(settings, 4), false);
  assert.is(reachesThreshold(settings, 5), true);
  assert.is(reachesThreshold(settings, 6), true);
  assert.is(reachesThreshold({ ...settings, threshold: 1 }, 1), true);
});

const cases: Array<[name: string, previous: { lockedAt: Date; seconds: number } | undefined, expected: number]> = [
  ['first lockout: the base', undefined, 15 * 60],
  ['previous began 1 h ago: doubled', { lockedAt: ago(HOUR), seconds: 15 * 60 }, 30 * 60],
  ['previous was 30 min, 2 h ago: doubled to the cap', { lockedAt: ago(2 * HOUR), seconds: 30 * 60 }, 60 * 60],
  ['previous was at the cap: stays at the cap', { lockedAt: ago(2 * HOUR), seconds: 60 * 60 }, 60 * 60],
  ['previous began 23 h 59 min ago: still doubled', { lockedAt: ago(24 * HOUR - 60), seconds: 15 * 60 }, 30 * 60],
  ['previous began exactly 24 h ago: the base again', { lockedAt: ago(24 * HOUR), seconds: 30 * 60 }, 15 * 60],
  ['previous began 25 h ago: the base again', { lockedAt: ago(25 * HOUR), seconds: 60 * 60 }, 15 * 60],
  [
    'a previous shorter than the base (settings changed): at least the base',
    { lockedAt: ago(HOUR), seconds: 60 },
    15 * 60,
  ],
];
for (const [name, previous, expected] of cases) {
  s(name, () => {
    assert.is(lockoutSeconds(settings, now, previous), expected);
  });
}

s('the cap also bounds the first lockout', () => {
  assert.is(lockoutSeconds({ threshold: 3, baseMinutes: 90, maxMinutes: 60 }, now), 60 * 60);
});

s('fractional minutes (tests) give whole seconds where they should', () => {
  const tiny: LockoutSettings = { threshold: 3, baseMinutes: 0.05, maxMinutes: 0.15 };
  assert.is(lockoutSeconds(tiny, now), 3);
  assert.is(lockoutSeconds(tiny, now, { lockedAt: ago(5), seconds: 3 }), 6);
  assert.is(lockoutSeconds(tiny, now, { lockedAt: ago(5), seconds: 6 }), 9);
});

s('a doubling chain from the base reaches the cap and stays', () => {
  let previous: { lockedAt: Date; seconds: number } | undefined;
  const seen: number[] = [];
  let t = now.getTime();
  for (let i = 0; i < 5; i++) {
    const at = new Date(t);
    const seconds = lockoutSeconds(settings, at, previous);
    seen.push(seconds / 60);
    previous = { lockedAt: at, seconds };
    t += (seconds + 60) * 1000;
  }
  assert.equal(seen, [15, 30, 60, 60, 60]);
});

s('secondsUntil rounds up and is at least 1 (a Retry-After of 0 would invite a retry storm)', () => {
  assert.is(secondsUntil(new Date(now.getTime() + 1500), now), 2);
  assert.is(secondsUntil(new Date(now.getTime() + 60_000), now), 60);
  assert.is(secondsUntil(new Date(now.getTime() + 1), now), 1);
  assert.is(secondsUntil(now, now), 1);
  assert.is(secondsUntil(ago(10), now), 1);
});

s.run();
