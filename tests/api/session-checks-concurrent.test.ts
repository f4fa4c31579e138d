import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { mutation, query } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/**
 * Concurrent authenticated calls share their session checks (one statement
 * for the calls waiting at the same moment). An attacker holding a revoked
 * token fires it among a crowd of valid ones: it must still be refused, and
 * no caller may get another caller's answer.
 */
const s = suite<{ svc: TestService; users: TestUser[] }>('api: session checks of concurrent calls');

s.before(async (ctx) => {
  ctx.svc = await startService();
  ctx.users = await Promise.all(Array.from({ length: 4 }, () => createVerifiedUser(ctx.svc.url)));
});
s.after(async (ctx) => {
  await ctx.svc?.close();
});

async function newSession(url: string, user: TestUser): Promise<TokenPair> {
  const res = await mutation<TokenPair>(url, 'auth.login', { email: user.email, password: user.password });
  assert.is(res.status, 200);
  return res.data!;
}

const me = (url: string, token: string) => query<{ id: string; email: string }>(url, 'auth.me', undefined, { token });

s(
  'a burst of valid and revoked tokens: each valid one gets its own user, each revoked one 401',
  async ({ svc, users }) => {
    const live = await Promise.all(users.map((u) => newSession(svc.url, u)));
    const revoked = await Promise.all(users.map((u) => newSession(svc.url, u)));
    for (const pair of revoked) {
      assert.is((await mutation(svc.url, 'auth.logout', { refreshToken: pair.refreshToken })).status, 200);
    }
    const calls = Array.from({ length: 160 }, (_, i) => {
      const who = i % users.length;
      const valid = i % 3 !== 0;
      return { who, valid, token: (valid ? live : revoked)[who]!.accessToken };
    });
    const answers = await Promise.all(calls.map((c) => me(svc.url, c.token)));
    answers.forEach((res, i) => {
      const { who, valid } = calls[i]!;
      if (valid) {
        assert.is(res.status, 200, `call ${i}`);
        assert.is(res.data?.id, live[who]!.user.id, `call ${i} answered for its own user`);
        assert.is(res.data?.email, users[who]!.email);
      } else {
        assert.is(res.status, 401, `call ${i}: a revoked session is refused even in a crowd`);
      }
    });
  },
);

s('a logout in the middle of a burst: every call sent after it has answered is refused', async ({ svc, users }) => {
  const pair = await newSession(svc.url, users[0]!);
  const before = Array.from({ length: 40 }, () => me(svc.url, pair.accessToken));
  assert.is((await mutation(svc.url, 'auth.logout', { refreshToken: pair.refreshToken })).status, 200);
  const after = await Promise.all(Array.from({ length: 40 }, () => me(svc.url, pair.accessToken)));
  for (const res of after) assert.is(res.status, 401);
  // Calls sent before the logout answered either way, but never with someone else's user.
  for (const res of await Promise.all(before)) {
    if (res.status === 200) assert.is(res.data?.id, pair.user.id);
    else assert.is(res.status, 401);
  }
});

s.run();
