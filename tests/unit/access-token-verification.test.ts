import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AccessTokenError, AccessTokenService } from '../../server/security/access-token.js';
import { Keyring } from '../../server/security/keyring.js';
import { ManualClock } from '../support/clock.js';

/**
 * The verifier remembers tokens it has checked (a client presents the same
 * one on every call). These tests try to get a token through on the strength
 * of an earlier success: after it expired, before it is valid, or altered.
 */
const s = suite('unit: access token verification, repeated');

const SECRET = 'access-token-test-secret-0123456789abcdefghij';
const TTL = 300;

function service(clock: ManualClock, secret = SECRET) {
  return new AccessTokenService({
    keyring: new Keyring(secret),
    clock,
    issuer: 'https://auth.example.test',
    audience: 'example-apps',
    ttlSeconds: TTL,
  });
}

const input = () => ({
  userId: randomUUID(),
  sessionId: randomUUID(),
  sessionVersion: 1,
  isSuperuser: false,
  amr: ['pwd'] as const,
});

async function refused(call: Promise<unknown>, what: string): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, AccessTokenError, what);
}

s('a token accepted many times is refused once its lifetime and the 60 s skew have passed', async () => {
  const clock = new ManualClock();
  const tokens = service(clock);
  const token = await tokens.issue(input());
  for (let i = 0; i < 3; i++) assert.is((await tokens.verify(token)).sid.length, 36);
  clock.advance(TTL + 30);
  assert.ok(await tokens.verify(token), 'still inside the skew');
  clock.advance(40);
  await refused(tokens.verify(token), 'expired beyond the skew');
  await refused(tokens.verify(token), 'and stays refused');
});

s('a token issued ahead of the clock is refused until its time comes, even after it was refused once', async () => {
  const issuerClock = new ManualClock();
  issuerClock.advance(180);
  const token = await service(issuerClock).issue(input());
  const clock = new ManualClock();
  const tokens = service(clock);
  await refused(tokens.verify(token), 'issued 3 minutes in the future');
  clock.advance(60);
  await refused(tokens.verify(token), 'still 2 minutes ahead');
  clock.advance(90);
  assert.ok(await tokens.verify(token), 'inside the skew now');
});

s('a known token with one character changed, or signed by another key, is not taken for the known one', async () => {
  const clock = new ManualClock();
  const tokens = service(clock);
  const token = await tokens.issue(input());
  await tokens.verify(token);
  const body = token.split('.')[2]!;
  const at = Math.floor(body.length / 2);
  const flipped = body.slice(0, at) + (body[at] === 'A' ? 'B' : 'A') + body.slice(at + 1);
  await refused(tokens.verify(token.replace(body, flipped)), 'one character changed');
  const foreign = await service(clock, 'another-secret-key-0123456789abcdefghijklmn').issue(input());
  await refused(tokens.verify(foreign), 'signed by a key outside our key ring');
  assert.ok(await tokens.verify(token), 'the original still verifies');
});

s('claims handed out for a known token cannot be changed by a caller', async () => {
  const tokens = service(new ManualClock());
  const token = await tokens.issue(input());
  const first = await tokens.verify(token);
  const original = first.sub;
  try {
    (first as { sub: string }).sub = randomUUID();
  } catch {
    /* frozen: strict mode throws */
  }
  assert.is((await tokens.verify(token)).sub, original);
});

s.run();
