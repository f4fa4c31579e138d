import { blake2b } from '@noble/hashes/blake2.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { PublicProtocol } from 'paseto';
import * as V2 from 'paseto/v2/public';
import * as V3 from 'paseto/v3/public';
import * as V4 from 'paseto/v4/public';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyring } from '../../server/security/keyring.js';
import { mutation, query } from '../support/http.js';
import { baseTestEnv, startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/**
 * Access tokens as a client and a forger see them: auth.me is the probe.
 * Forged tokens are built with `paseto` itself (not with our code), signed
 * either by foreign keys or by our own key with claims we choose.
 */

const v4 = new PublicProtocol(
  V4.GenerateKeyPairFactory,
  V4.SignFactory,
  V4.VerifyFactory,
  V4.ImportSecretKeyFactory,
  V4.ImportPublicKeyFactory,
);
const v3 = new PublicProtocol(V3.GenerateKeyPairFactory, V3.SignFactory);
const v2 = new PublicProtocol(V2.GenerateKeyPairFactory, V2.SignFactory);

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const PID = /^k4\.pid\.[A-Za-z0-9_-]{44}$/;

/** Payload claims of a v4.public token, read without verifying (test-side only). */
function claimsOf(token: string): Record<string, unknown> {
  const body = Buffer.from(token.split('.')[2]!, 'base64url');
  return JSON.parse(body.subarray(0, body.length - 64).toString('utf8')) as Record<string, unknown>;
}
function footerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[3] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Our signing key as a PASERK k4.secret (seed || public key), from the same SECRET_KEY the service uses. */
async function ownSecretKey(secret: string) {
  const jwk = new Keyring(secret).current.privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  const raw = Buffer.concat([Buffer.from(jwk.d, 'base64url'), Buffer.from(jwk.x, 'base64url')]);
  return v4.ImportSecretKey(`k4.secret.${raw.toString('base64url')}`);
}

interface Ctx {
  svc: TestService;
  user: TestUser;
  /** Claims of the user's real token, without the time claims and jti. */
  base: Record<string, unknown>;
  ownKey: Awaited<ReturnType<typeof ownSecretKey>>;
  kid: string;
  extra: TestService[];
}

const s = suite<Ctx>('api: access tokens');

s.before(async (ctx) => {
  ctx.extra = [];
  ctx.svc = await startService();
  ctx.user = await createVerifiedUser(ctx.svc.url);
  const { iat: _iat, exp: _exp, jti: _jti, ...base } = claimsOf(ctx.user.tokens.accessToken);
  ctx.base = base;
  ctx.ownKey = await ownSecretKey(baseTestEnv().SECRET_KEY!);
  ctx.kid = new Keyring(baseTestEnv().SECRET_KEY!).current.kid;
});
s.after(async (ctx) => {
  await Promise.all([ctx.svc, ...ctx.extra].map((x) => x.close()));
});

async function me(svc: TestService, authorization?: string) {
  return query(svc.url, 'auth.me', undefined, authorization === undefined ? {} : { headers: { authorization } });
}
function assertUnauthenticated(res: Awaited<ReturnType<typeof me>>, what: string) {
  assert.is(res.status, 401, `${what}: status ${res.status} ${JSON.stringify(res.body)}`);
  assert.is(res.error?.data.code, 'UNAUTHORIZED', what);
  assert.is(res.error?.data.appCode, 'UNAUTHENTICATED', what);
}

/** Signs claims with our own key (or `key`) via paseto, with a chosen clock. */
async function forge(
  ctx: Ctx,
  claims: Record<string, unknown>,
  opts: { now?: number; expiresIn?: number; footer?: unknown; key?: Awaited<ReturnType<typeof ownSecretKey>> } = {},
): Promise<string> {
  return v4.Sign(opts.key ?? ctx.ownKey, claims as never, {
    footer: enc(opts.footer ?? { kid: ctx.kid }),
    now: new Date(opts.now ?? Date.now()),
    expiresIn: opts.expiresIn ?? 900,
  });
}
const valid = (ctx: Ctx, extra: Record<string, unknown> = {}) => ({ ...ctx.base, jti: randomUUID(), ...extra });

s('a valid access token gets the caller as PublicUser', async ({ svc, user }) => {
  const res = await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken });
  assert.is(res.status, 200);
  assert.equal(Object.keys(res.data).sort(), ['createdAt', 'email', 'emailVerified', 'fullName', 'id', 'isSuperuser']);
  assert.is(res.data.email, user.email);
  assert.is(res.data.emailVerified, true);
  assert.is(res.data.isSuperuser, false);
  assert.ok(!Number.isNaN(Date.parse(res.data.createdAt)));
  assert.is(user.tokens.tokenType, 'Bearer');
  assert.is(user.tokens.expiresIn, 900);
});

s('missing, non-Bearer and garbage Authorization headers are UNAUTHENTICATED', async (ctx) => {
  const t = ctx.user.tokens.accessToken;
  const cases: Record<string, string | undefined> = {
    missing: undefined,
    empty: '',
    'Bearer with nothing': 'Bearer ',
    'Basic scheme': `Basic ${Buffer.from('a:b').toString('base64')}`,
    'token without scheme': t,
    'Token scheme': `Token ${t}`,
    garbage: 'Bearer garbage',
    'two tokens': `Bearer ${t} ${t}`,
    'truncated token': `Bearer ${t.slice(0, -10)}`,
    'v4.public prefix only': 'Bearer v4.public.',
    'huge token': `Bearer v4.public.${'A'.repeat(6000)}`,
  };
  for (const [name, header] of Object.entries(cases)) assertUnauthenticated(await me(ctx.svc, header), name);
});

s('issued tokens carry the documented claims', async ({ svc, user }) => {
  const token = user.tokens.accessToken;
  assert.ok(token.startsWith('v4.public.'));
  const c = claimsOf(token);
  const meRes = await query(svc.url, 'auth.me', undefined, { token });
  const sessions = await query(svc.url, 'sessions.list', undefined, { token });
  assert.is(c.sub, meRes.data.id);
  assert.is(c.sid, sessions.data.find((x: { current: boolean }) => x.current).id);
  assert.is(c.sv, 0);
  assert.is(c.adm, false);
  assert.is(c.iss, 'http://auth.test.local');
  assert.is(c.aud, 'secure-auth');
  assert.match(String(c.jti), /^[0-9a-f-]{36}$/);
  for (const k of ['iat', 'exp'])
    assert.match(String(c[k]), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, k);
  assert.is((Date.parse(String(c.exp)) - Date.parse(String(c.iat))) / 1000, 900);
  assert.equal(Object.keys(c).sort(), ['adm', 'amr', 'aud', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub', 'sv']);
  assert.equal(c.amr, ['pwd'], 'a password login');
  // Every token has its own jti.
  const again = await mutation(svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
  assert.is.not(claimsOf(again.data.accessToken).jti, c.jti);
  user.tokens = again.data;
});

s('GET /.well-known/paseto-keys publishes the key that signs tokens', async ({ svc, user }) => {
  const res = await fetch(`${svc.url}/.well-known/paseto-keys`);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { keys: Array<{ kid: string; paserk: string; status: string }> };
  assert.equal(Object.keys(body), ['keys']);
  assert.is(body.keys.length, 1);
  const [key] = body.keys;
  assert.equal(Object.keys(key!).sort(), ['kid', 'paserk', 'status']);
  assert.is(key!.status, 'current');
  assert.match(key!.kid, PID);
  assert.match(key!.paserk, /^k4\.public\.[A-Za-z0-9_-]{43}$/);
  // kid is the PASERK id of the published key, computed here independently.
  const digest = blake2b(Buffer.from(`k4.pid.${key!.paserk}`, 'utf8'), { dkLen: 33 });
  assert.is(key!.kid, `k4.pid.${Buffer.from(digest).toString('base64url')}`);
  // Issued tokens name it in their footer (and nothing else).
  assert.equal(footerOf(user.tokens.accessToken), { kid: key!.kid });
  // Another service verifies offline with the published key alone.
  const publicKey = await v4.ImportPublicKey(key!.paserk as `k4.public.${string}`);
  const { claims } = await v4.Verify(publicKey, user.tokens.accessToken, {
    audience: 'secure-auth',
    issuer: 'http://auth.test.local',
  });
  assert.is(claims.sub, claimsOf(user.tokens.accessToken).sub);
});

s('our control forgery (own key, right claims) is accepted, so the refusals below mean something', async (ctx) => {
  const res = await me(ctx.svc, `Bearer ${await forge(ctx, valid(ctx))}`);
  assert.is(res.status, 200, JSON.stringify(res.body));
  // Inside the 60 s skew: expired 30 s ago, issued 30 s ahead.
  assert.is(
    (await me(ctx.svc, `Bearer ${await forge(ctx, valid(ctx), { now: Date.now() - 90_000, expiresIn: 60 })}`)).status,
    200,
  );
  assert.is((await me(ctx.svc, `Bearer ${await forge(ctx, valid(ctx), { now: Date.now() + 30_000 })}`)).status, 200);
});

s('tokens of other PASETO versions and purposes are refused', async (ctx) => {
  const claims = valid(ctx, { exp: rfc3339(Date.now() + 600_000) });
  const v2Key = await v2.GenerateKeyPair();
  const v3Key = await v3.GenerateKeyPair();
  // v4.local: nonce(32) || ciphertext || tag(32); its key would be public (algorithm confusion).
  const local = `v4.local.${Buffer.concat([randomBytes(32), Buffer.from(JSON.stringify(claims)), randomBytes(32)]).toString('base64url')}.${Buffer.from(JSON.stringify({ kid: ctx.kid })).toString('base64url')}`;
  const cases: Record<string, string> = {
    'v4.local': local,
    'v2.public': await v2.Sign(v2Key.secretKey, claims as never, { footer: enc({ kid: ctx.kid }) }),
    'v3.public': await v3.Sign(v3Key.secretKey, claims as never, { footer: enc({ kid: ctx.kid }) }),
    'v1.local-looking': `v1.local.${randomBytes(80).toString('base64url')}`,
    'V4.PUBLIC upper-case header': (await forge(ctx, valid(ctx))).replace('v4.public.', 'V4.PUBLIC.'),
  };
  for (const [name, token] of Object.entries(cases)) assertUnauthenticated(await me(ctx.svc, `Bearer ${token}`), name);
});

s('v4.public tokens signed by any other key are refused, whatever their footer says', async (ctx) => {
  const stranger = await v4.GenerateKeyPair();
  const strangerPaserk = await new PublicProtocol(V4.ExportPublicKeyFactory).ExportPublicKey(stranger.publicKey);
  const strangerKid = `k4.pid.${Buffer.from(blake2b(Buffer.from(`k4.pid.${strangerPaserk}`), { dkLen: 33 })).toString('base64url')}`;
  const otherSecretKey = await ownSecretKey('a-different-secret-key-0123456789abcdefghijkl');
  const cases: Record<string, string> = {
    'stranger key, its own kid': await forge(ctx, valid(ctx), {
      key: stranger.secretKey,
      footer: { kid: strangerKid },
    }),
    'stranger key, our kid': await forge(ctx, valid(ctx), { key: stranger.secretKey }),
    'stranger key, random valid-looking kid': await forge(ctx, valid(ctx), {
      key: stranger.secretKey,
      footer: { kid: `k4.pid.${randomBytes(33).toString('base64url')}` },
    }),
    'stranger key, no footer': await v4.Sign(stranger.secretKey, valid(ctx) as never, { expiresIn: 900 }),
    'another SECRET_KEY, our kid': await forge(ctx, valid(ctx), { key: otherSecretKey }),
    'our key, no footer': await v4.Sign(ctx.ownKey, valid(ctx) as never, { expiresIn: 900 }),
    'our key, footer without kid': await forge(ctx, valid(ctx), { footer: { key: ctx.kid } }),
    'our key, kid not a string': await forge(ctx, valid(ctx), { footer: { kid: [ctx.kid] } }),
    'our key, footer not JSON': await v4.Sign(ctx.ownKey, valid(ctx) as never, {
      expiresIn: 900,
      footer: new TextEncoder().encode(ctx.kid),
    }),
  };
  for (const [name, token] of Object.entries(cases)) assertUnauthenticated(await me(ctx.svc, `Bearer ${token}`), name);
});

s('our key with a wrong aud or iss is refused', async (ctx) => {
  for (const [name, extra] of Object.entries({
    'wrong aud': { aud: 'another-service' },
    'wrong iss': { iss: 'http://evil.test.local' },
    'iss with trailing slash': { iss: 'http://auth.test.local/' },
    'aud missing': { aud: undefined },
    'iss missing': { iss: undefined },
  })) {
    const claims = JSON.parse(JSON.stringify(valid(ctx, extra))) as Record<string, unknown>;
    assertUnauthenticated(await me(ctx.svc, `Bearer ${await forge(ctx, claims)}`), name);
  }
});

s('tokens issued by a service with another TOKEN_AUDIENCE or PUBLIC_URL (same SECRET_KEY) are refused', async (ctx) => {
  const otherAud = await startService({ TOKEN_AUDIENCE: 'another-service' });
  const otherIss = await startService({ PUBLIC_URL: 'http://other.test.local' });
  ctx.extra.push(otherAud, otherIss);
  for (const [name, other] of [
    ['aud', otherAud],
    ['iss', otherIss],
  ] as const) {
    const login = await mutation(other.url, 'auth.login', { email: ctx.user.email, password: ctx.user.password });
    assert.is(login.status, 200);
    // Same key, so the only difference is the claim:
    assert.equal(footerOf(login.data.accessToken), { kid: ctx.kid });
    assert.is(
      (await query(other.url, 'auth.me', undefined, { token: login.data.accessToken })).status,
      200,
      `${name} at its issuer`,
    );
    assertUnauthenticated(await me(ctx.svc, `Bearer ${login.data.accessToken}`), `foreign ${name}`);
  }
});

s('expired, not-yet-valid and future-issued tokens are refused (beyond the 60 s skew)', async (ctx) => {
  const now = Date.now();
  const cases: Record<string, string> = {
    'exp 2 minutes ago': await forge(ctx, valid(ctx), { now: now - 180_000, expiresIn: 60 }),
    'exp a day ago': await forge(ctx, valid(ctx), { now: now - 86_400_000, expiresIn: 900 }),
    'iat 2 minutes ahead': await forge(ctx, valid(ctx), { now: now + 120_000 }),
    'nbf 2 minutes ahead': await forge(ctx, valid(ctx, { nbf: rfc3339(now + 120_000) })),
    'no exp at all': await v4.Sign(ctx.ownKey, valid(ctx) as never, {
      footer: enc({ kid: ctx.kid }),
      nonExpiring: true,
    }),
  };
  for (const [name, token] of Object.entries(cases)) assertUnauthenticated(await me(ctx.svc, `Bearer ${token}`), name);
});

s('tokens missing or mistyping our claims are refused', async (ctx) => {
  const cases: Record<string, Record<string, unknown>> = {
    'no sub': { sub: undefined },
    'no sid': { sid: undefined },
    'no sv': { sv: undefined },
    'no adm': { adm: undefined },
    'no jti': { jti: undefined },
    'sv as string': { sv: '0' },
    'adm as string': { adm: 'false' },
    'sub not a uuid': { sub: 'not-a-uuid' },
    'sid not a uuid': { sid: "x' or '1'='1" },
    'unknown sid': { sid: randomUUID() },
    'unknown sub': { sub: randomUUID() },
    'stale session version': { sv: 1 },
  };
  for (const [name, extra] of Object.entries(cases)) {
    const claims = JSON.parse(JSON.stringify(valid(ctx, extra))) as Record<string, unknown>;
    assertUnauthenticated(await me(ctx.svc, `Bearer ${await forge(ctx, claims)}`), name);
  }
});

s('a single changed byte anywhere in a real token is refused', async (ctx) => {
  const token = ctx.user.tokens.accessToken;
  const [h1, h2, body, footer] = token.split('.') as [string, string, string, string];
  const raw = Buffer.from(body, 'base64url');
  const message = raw.subarray(0, raw.length - 64).toString('utf8');
  const withBody = (b: Buffer) => `${h1}.${h2}.${b.toString('base64url')}.${footer}`;
  const flipped = (i: number) => {
    const b = Buffer.from(raw);
    b[i] = b[i]! ^ 0x20;
    return withBody(b);
  };
  // Promote ourselves: same length, so only the signature can tell.
  assert.ok(message.includes('"adm":false'));
  const promoted = Buffer.concat([
    Buffer.from(message.replace('"adm":false', '"adm":true ')),
    raw.subarray(raw.length - 64),
  ]);
  const cases: Record<string, string> = {
    'payload first byte': flipped(0),
    'payload middle byte': flipped(Math.floor(message.length / 2)),
    'adm flipped to true': withBody(promoted),
    'signature byte': flipped(raw.length - 1),
    'footer changed': `${h1}.${h2}.${body}.${Buffer.from(JSON.stringify({ kid: ctx.kid, x: 1 })).toString('base64url')}`,
    'footer dropped': `${h1}.${h2}.${body}`,
  };
  for (const [name, t] of Object.entries(cases)) assertUnauthenticated(await me(ctx.svc, `Bearer ${t}`), name);
  // The untouched token still works.
  assert.is((await me(ctx.svc, `Bearer ${token}`)).status, 200);
});

s('after SECRET_KEY rotation the previous key still verifies and is published as previous', async (ctx) => {
  const newSecret = 'rotated-secret-key-for-tests-0123456789abcdefgh';
  const rotated = await startService({ SECRET_KEY: newSecret, SECRET_KEY_PREVIOUS: baseTestEnv().SECRET_KEY! });
  ctx.extra.push(rotated);
  const keys = (await (await fetch(`${rotated.url}/.well-known/paseto-keys`)).json()) as {
    keys: Array<{ kid: string; status: string }>;
  };
  const newKid = new Keyring(newSecret).current.kid;
  assert.equal(
    keys.keys.map((k) => [k.kid, k.status]),
    [
      [newKid, 'current'],
      [ctx.kid, 'previous'],
    ],
  );
  // A token of the old key keeps working until it expires...
  assert.is((await query(rotated.url, 'auth.me', undefined, { token: ctx.user.tokens.accessToken })).status, 200);
  // ...new tokens are signed with the new key, which the old deployment does not know.
  const login = await mutation(rotated.url, 'auth.login', { email: ctx.user.email, password: ctx.user.password });
  assert.equal(footerOf(login.data.accessToken), { kid: newKid });
  assertUnauthenticated(await me(ctx.svc, `Bearer ${login.data.accessToken}`), 'new key at old service');
});

s.run();
