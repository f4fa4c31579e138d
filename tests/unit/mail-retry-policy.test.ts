import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_RETRY_POLICY, retryDelaySeconds, shouldGiveUp } from '../../server/email/outbox-worker.js';

/** The promise of the runbook: the first retry within 10 s, retries for at least 24 h. */
const s = suite('unit: mail retry policy');
const p = DEFAULT_RETRY_POLICY;

s('the first retry comes within 10 s, then the delay doubles up to its cap', () => {
  assert.ok(retryDelaySeconds(p, 1) <= 10);
  assert.is(retryDelaySeconds(p, 2), 2 * retryDelaySeconds(p, 1));
  assert.is(retryDelaySeconds(p, 50), p.maxBackoffSeconds);
});

s('a message is retried for at least 24 h, and its tries keep coming (never a day-long silence)', () => {
  let elapsed = 0;
  let attempts = 1;
  while (!shouldGiveUp(p, elapsed)) {
    const delay = retryDelaySeconds(p, attempts++);
    assert.ok(delay <= 3600, 'at least one try an hour');
    elapsed += delay;
  }
  assert.ok(elapsed >= 24 * 3600, `gave up after ${elapsed} s`);
  assert.not.ok(shouldGiveUp(p, 24 * 3600));
});

s.run();
