import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { mutation, query } from '../support/http.js';
import { rememberSecret } from '../support/secrets.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/**
 * The runbook's key rotation, as an operator does it: restart with a new
 * SECRET_KEY. Without SECRET_KEY_PREVIOUS every token dies (the emergency
 * "revoke all tokens"); with the old key in SECRET_KEY_PREVIOUS sessions
 * survive and move to the new key at their next refresh (routine rotation).
 */

const OLD_KEY = 'rotation-old-key-0123456789abcdefghijklmnopqrstuvwxyz';
const NEW_KEY = 'rotation-new-key-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210';
rememberSecret(OLD_KEY, NEW_KEY);

const kidOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[3]!, 'base64url').toString('utf8')).kid as string;

const s = suite<{ before: TestService; user: TestUser }>('key rotation');
s.before(async (ctx) => {
  ctx.before = await startService({ SECRET_KEY: OLD_KEY });
  ctx.user = await createVerifiedUser(ctx.before.url);
});
s.after(async (ctx) => {
  await ctx.before.close();
});

s('rotating SECRET_KEY alone revokes every access and refresh token; passwords still work', async ({ user }) => {
  const after = await startService({ SECRET_KEY: NEW_KEY });
  try {
    // A second session, so this case does not consume the suite user's tokens.
    const login = await mutation<TokenPair>(after.url, 'auth.login', { email: user.email, password: user.password });
    assert.is(login.status, 200, 'logging in again works after an emergency rotation');
    const me = await query(after.url, 'auth.me', undefined, { token: user.tokens.accessToken });
    assert.is(me.status, 401);
    assert.is(me.error?.data.appCode, 'UNAUTHENTICATED');
    const refresh = await mutation(after.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
    assert.is(refresh.status, 401);
    assert.is(refresh.error?.data.appCode, 'INVALID_REFRESH_TOKEN');
    const keys = await (await fetch(`${after.url}/.well-known/paseto-keys`)).json();
    assert.is(keys.keys.length, 1, 'the old public key is no longer published');
    assert.is.not(keys.keys[0].kid, kidOf(user.tokens.accessToken));
  } finally {
    await after.close();
  }
});

s('with the old key in SECRET_KEY_PREVIOUS sessions survive and move to the new key on refresh', async ({ before }) => {
  const user = await createVerifiedUser(before.url);
  const oldKid = kidOf(user.tokens.accessToken);
  const rotated = await startService({ SECRET_KEY: NEW_KEY, SECRET_KEY_PREVIOUS: OLD_KEY });
  const newOnly = await startService({ SECRET_KEY: NEW_KEY });
  try {
    const keys = await (await fetch(`${rotated.url}/.well-known/paseto-keys`)).json();
    assert.equal(
      keys.keys.map((k: { status: string }) => k.status),
      ['current', 'previous'],
    );
    assert.is(keys.keys[1].kid, oldKid);

    const me = await query(rotated.url, 'auth.me', undefined, { token: user.tokens.accessToken });
    assert.is(me.status, 200, 'an access token signed with the previous key still verifies');
    const refreshed = await mutation<TokenPair>(rotated.url, 'auth.refresh', {
      refreshToken: user.tokens.refreshToken,
    });
    assert.is(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.is(kidOf(refreshed.data.accessToken), keys.keys[0].kid, 'the new pair is signed with the current key');

    // Once the previous key is dropped, the new pair keeps working: nothing
    // issued after the refresh depends on the old key.
    assert.is((await query(newOnly.url, 'auth.me', undefined, { token: refreshed.data.accessToken })).status, 200);
    const next = await mutation<TokenPair>(newOnly.url, 'auth.refresh', { refreshToken: refreshed.data.refreshToken });
    assert.is(next.status, 200, JSON.stringify(next.body));
  } finally {
    await rotated.close();
    await newOnly.close();
  }
});

s.run();
