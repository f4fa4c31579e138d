import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTokenVerifier, TokenVerificationError, type PasetoPublicKey } from '../../client/src/index.js';
import { mutation, query } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';
import { countingFetch, rejection } from './helpers.js';

// SECRET_KEY rotation end to end: OLD is the key before the rotation, NEW after.
const OLD = 'rotation-suite-old-secret-key-0123456789abcdefghij';
const NEW = 'rotation-suite-new-secret-key-9876543210zyxwvutsrq';

const s = suite<{ old: TestService; rotated: TestService; newOnly: TestService; user: TestUser }>(
  'key rotation (server and verifier)',
);
s.before(async (ctx) => {
  ctx.old = await startService({ SECRET_KEY: OLD });
  ctx.rotated = await startService({ SECRET_KEY: NEW, SECRET_KEY_PREVIOUS: OLD });
  ctx.newOnly = await startService({ SECRET_KEY: NEW });
  ctx.user = await createVerifiedUser(ctx.old.url);
});
s.after(async (ctx) => {
  await Promise.all([ctx.old.close(), ctx.rotated.close(), ctx.newOnly.close()]);
});

async function keysOf(svc: TestService): Promise<PasetoPublicKey[]> {
  const res = await fetch(`${svc.url}/.well-known/paseto-keys`);
  assert.is(res.status, 200);
  return ((await res.json()) as { keys: PasetoPublicKey[] }).keys;
}

s('/.well-known/paseto-keys lists the previous key as previous', async ({ old, rotated, newOnly }) => {
  const [oldKey] = await keysOf(old);
  const [newKey] = await keysOf(newOnly);
  const keys = await keysOf(rotated);
  assert.equal(
    keys.map((k) => [k.kid, k.status]),
    [
      [newKey!.kid, 'current'],
      [oldKey!.kid, 'previous'],
    ],
  );
  assert.is.not(oldKey!.kid, newKey!.kid);
  assert.ok(keys.every((k) => k.paserk.startsWith('k4.public.') && k.kid.startsWith('k4.pid.')));
});

s(
  'the service accepts an access token signed with the previous key, and refuses it without SECRET_KEY_PREVIOUS',
  async ({ rotated, newOnly, user }) => {
    const me = await query(rotated.url, 'auth.me', undefined, { token: user.tokens.accessToken });
    assert.is(me.status, 200);
    assert.is(me.data.email, user.email);
    const refused = await query(newOnly.url, 'auth.me', undefined, { token: user.tokens.accessToken });
    assert.is(refused.status, 401);
    assert.is(refused.error?.data.appCode, 'UNAUTHENTICATED');
  },
);

s(
  'a refresh token issued under the previous key still refreshes after the rotation, onto the new key',
  async ({ old, rotated, newOnly }) => {
    const user = await createVerifiedUser(old.url); // the pair is issued under the old key
    const refreshed = await mutation(rotated.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
    assert.is(refreshed.status, 200);
    const me = await query(newOnly.url, 'auth.me', undefined, { token: refreshed.data.accessToken });
    assert.is(me.status, 200, 'the new pair is signed with the new current key');
    const stale = await mutation(newOnly.url, 'auth.refresh', { refreshToken: refreshed.data.refreshToken });
    assert.is(stale.status, 200, 'and its refresh token needs no previous key');
  },
);

s(
  'the verifier accepts the previous key when the service lists it, and refuses it when not',
  async ({ rotated, newOnly, user }) => {
    const claims = await createTokenVerifier({ url: rotated.url, issuer: rotated.config.publicUrl }).verify(
      user.tokens.accessToken,
    );
    assert.is(claims.sub, user.tokens.user.id);
    const err = await rejection(createTokenVerifier({ url: newOnly.url }).verify(user.tokens.accessToken));
    assert.instance(err, TokenVerificationError);
    assert.is((err as TokenVerificationError).reason, 'unknown_key');
  },
);

s(
  'a verifier that cached the keys before the rotation finds the new key with one re-fetch',
  async ({ old, rotated, user }) => {
    // The verifier talks to one URL; the service behind it is rotated between fetches.
    let fetches = 0;
    const net = countingFetch((u) => u.replace('http://auth.example', fetches++ === 0 ? old.url : rotated.url));
    const verifier = createTokenVerifier({ url: 'http://auth.example', fetch: net.fetch });
    assert.is((await verifier.verify(user.tokens.accessToken)).sub, user.tokens.user.id);
    assert.is(net.urls.length, 1);

    const after = await createVerifiedUser(rotated.url);
    assert.is((await verifier.verify(after.tokens.accessToken)).sub, after.tokens.user.id);
    assert.is(net.urls.length, 2, 'exactly one re-fetch');
    // tokens signed before the rotation keep verifying from the refreshed set
    assert.is((await verifier.verify(user.tokens.accessToken)).sub, user.tokens.user.id);
    assert.is(net.urls.length, 2);
  },
);

s.run();
