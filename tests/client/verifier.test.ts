import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createTokenVerifier,
  TokenVerificationError,
  type PasetoPublicKey,
  type TokenVerificationReason,
} from '../../client/src/index.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';
import { countingFetch, rejection } from './helpers.js';

const OTHER_KEY = 'verifier-suite-other-service-key-0123456789abcdef';

const s = suite<{ svc: TestService; other: TestService; user: TestUser; foreign: TestUser }>(
  'client: createTokenVerifier',
);
s.before(async (ctx) => {
  ctx.svc = await startService();
  // A second service with its own key: its tokens carry a kid ours never listed.
  ctx.other = await startService({ SECRET_KEY: OTHER_KEY });
  ctx.user = await createVerifiedUser(ctx.svc.url);
  ctx.foreign = await createVerifiedUser(ctx.other.url);
});
s.after(async (ctx) => {
  await ctx.svc.close();
  await ctx.other.close();
});

async function refusal(p: Promise<unknown>): Promise<TokenVerificationReason> {
  const err = await rejection(p);
  assert.instance(err, TokenVerificationError);
  assert.is((err as TokenVerificationError).appCode, 'UNAUTHENTICATED');
  return (err as TokenVerificationError).reason;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'));

/** Rewrites the signed claims of a token, keeping its signature and footer. */
function withClaims(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const [, , payload, footer] = token.split('.');
  const bytes = unb64(payload!);
  const claims = JSON.parse(Buffer.from(bytes.subarray(0, -64)).toString('utf8')) as Record<string, unknown>;
  edit(claims);
  const message = new Uint8Array(Buffer.from(JSON.stringify(claims), 'utf8'));
  const forged = new Uint8Array([...message, ...bytes.subarray(-64)]);
  return `v4.public.${b64(forged)}.${footer}`;
}

s('a valid token gives typed claims', async ({ svc, user }) => {
  const verifier = createTokenVerifier({ url: svc.url, issuer: svc.config.publicUrl, audience: 'secure-auth' });
  const claims = await verifier.verify(user.tokens.accessToken);
  assert.is(claims.sub, user.tokens.user.id);
  assert.is(claims.adm, false);
  assert.is(claims.iss, 'http://auth.test.local');
  assert.is(claims.aud, 'secure-auth');
  assert.type(claims.sid, 'string');
  assert.type(claims.sv, 'number');
  assert.ok(Date.parse(claims.exp) > Date.parse(claims.iat));
});

s('an expired token is refused once past the 60 s tolerance, not before', async ({ svc, user }) => {
  const exp = Date.parse((await createTokenVerifier({ url: svc.url }).verify(user.tokens.accessToken)).exp);
  const at = (ms: number) => createTokenVerifier({ url: svc.url, now: () => new Date(ms) });
  const inside = await at(exp + 30_000).verify(user.tokens.accessToken);
  assert.is(inside.sub, user.tokens.user.id);
  assert.is(await refusal(at(exp + 61_000).verify(user.tokens.accessToken)), 'expired');
  // and a token from the future (issued after "now" beyond the tolerance)
  assert.is(await refusal(at(Date.now() - 3_600_000).verify(user.tokens.accessToken)), 'not_yet_valid');
});

s('a tampered token is refused', async ({ svc, user }) => {
  const verifier = createTokenVerifier({ url: svc.url });
  const promoted = withClaims(user.tokens.accessToken, (c) => (c.adm = true));
  assert.is(await refusal(verifier.verify(promoted)), 'invalid_signature');
  const otherUser = withClaims(user.tokens.accessToken, (c) => (c.sub = '00000000-0000-4000-8000-000000000000'));
  assert.is(await refusal(verifier.verify(otherUser)), 'invalid_signature');
  // the untouched token still verifies through the same helper: the edit, not the re-encoding, breaks it
  assert.is((await verifier.verify(withClaims(user.tokens.accessToken, () => {}))).sub, user.tokens.user.id);

  const [v, p, payload, footer] = user.tokens.accessToken.split('.');
  const sig = unb64(payload!);
  sig[sig.length - 1]! ^= 1;
  assert.is(await refusal(verifier.verify(`${v}.${p}.${b64(sig)}.${footer}`)), 'invalid_signature');
  // a footer naming another kid: unknown key, never "try every key"
  const otherKid = b64(
    new TextEncoder().encode(JSON.stringify({ kid: 'k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })),
  );
  assert.is(await refusal(verifier.verify(`${v}.${p}.${payload}.${otherKid}`)), 'unknown_key');
});

s('malformed tokens and other PASETO versions are refused before any key lookup', async ({ svc, user }) => {
  const net = countingFetch();
  const verifier = createTokenVerifier({ url: svc.url, fetch: net.fetch });
  const t = user.tokens.accessToken;
  for (const bad of [
    '',
    'not-a-token',
    t.replace('v4.public.', 'v4.local.'),
    t.replace('v4.public.', 'v3.public.'),
    t.split('.').slice(0, 3).join('.'), // no footer, so no kid
    `${t}.extra`,
    t.slice(0, 40),
    t.replace(/\.([^.]*)$/, '.!!'),
    'v4.public.' + 'A'.repeat(9000),
  ]) {
    assert.is(await refusal(verifier.verify(bad)), 'malformed', bad.slice(0, 30));
  }
  assert.is(net.urls.length, 0);
});

s('a wrong audience or issuer is refused', async ({ svc, user }) => {
  const wrongAud = createTokenVerifier({ url: svc.url, audience: 'billing' });
  assert.is(await refusal(wrongAud.verify(user.tokens.accessToken)), 'wrong_audience');
  const wrongIss = createTokenVerifier({ url: svc.url, issuer: 'https://evil.example' });
  assert.is(await refusal(wrongIss.verify(user.tokens.accessToken)), 'wrong_issuer');
});

s(
  'an unknown kid re-fetches the keys once, then is refused; repeats within the cooldown do not fetch',
  async ({ svc, user, foreign }) => {
    const net = countingFetch();
    const verifier = createTokenVerifier({ url: svc.url, fetch: net.fetch });
    await verifier.verify(user.tokens.accessToken);
    assert.is(net.urls.length, 1);
    await verifier.verify(user.tokens.accessToken);
    assert.is(net.urls.length, 1, 'keys are cached');

    assert.is(await refusal(verifier.verify(foreign.tokens.accessToken)), 'unknown_key');
    assert.is(net.urls.length, 2, 'one re-fetch for the unknown kid');
    assert.is(await refusal(verifier.verify(foreign.tokens.accessToken)), 'unknown_key');
    assert.is(net.urls.length, 2, 'no fetch storm from made-up kids');
    assert.ok(net.urls.every((u) => u.endsWith('/.well-known/paseto-keys')));
  },
);

s('keys given directly verify offline', async ({ svc, user, foreign }) => {
  const { keys } = (await (await fetch(`${svc.url}/.well-known/paseto-keys`)).json()) as { keys: PasetoPublicKey[] };
  const verifier = createTokenVerifier({ keys });
  assert.is((await verifier.verify(user.tokens.accessToken)).sub, user.tokens.user.id);
  assert.is(await refusal(verifier.verify(foreign.tokens.accessToken)), 'unknown_key');
  const none = createTokenVerifier({ keys: [{ kid: keys[0]!.kid, paserk: 'k4.secret.AAAA' }] });
  assert.is(await refusal(none.verify(user.tokens.accessToken)), 'unknown_key', 'only k4.public keys are used');
});

s('an unreachable key endpoint is keys_unavailable', async ({ user }) => {
  const verifier = createTokenVerifier({ url: 'http://127.0.0.1:9' });
  assert.is(await refusal(verifier.verify(user.tokens.accessToken)), 'keys_unavailable');
});

s(
  'a key endpoint that fails is asked again only after a doubling backoff, not on every verification',
  async ({ svc, user }) => {
    let nowMs = Date.now();
    const net = countingFetch((u) => (down ? 'http://127.0.0.1:9/.well-known/paseto-keys' : u));
    let down = true;
    const verifier = createTokenVerifier({ url: svc.url, fetch: net.fetch, now: () => new Date(nowMs) });
    for (let i = 0; i < 5; i++) assert.is(await refusal(verifier.verify(user.tokens.accessToken)), 'keys_unavailable');
    assert.is(net.urls.length, 1, 'one fetch for five verifications during the outage');
    nowMs += 1_100;
    await refusal(verifier.verify(user.tokens.accessToken));
    assert.is(net.urls.length, 2, 'retried after the first backoff (1 s)');
    nowMs += 1_100;
    await refusal(verifier.verify(user.tokens.accessToken));
    assert.is(net.urls.length, 2, 'the second backoff is longer (2 s)');
    down = false;
    nowMs += 1_000;
    const claims = await verifier.verify(user.tokens.accessToken).catch(() => null);
    assert.is(claims?.sub, user.tokens.user.id, 'the service back: keys are fetched and tokens verify');
  },
);

s.run();
