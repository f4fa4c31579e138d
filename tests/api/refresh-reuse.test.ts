import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { mutation, query, type CallResult } from '../support/http.js';
import { dbRow, dbRows } from '../support/pg.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';

/**
 * Reuse detection without the rows of used tokens: only the direct
 * predecessor of an unused live token gets the grace answer, anything older
 * is reuse whatever the time, and a session keeps a constant number of rows
 * however often it is refreshed.
 */
const s = suite<{ svc: TestService }>('api: refresh reuse and constant storage');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const refresh = (svc: TestService, refreshToken: string) =>
  mutation<TokenPair>(svc.url, 'auth.refresh', { refreshToken });
const sidOf = (accessToken: string): string => {
  const body = Buffer.from(accessToken.split('.')[2]!, 'base64url');
  return (JSON.parse(body.subarray(0, body.length - 64).toString('utf8')) as { sid: string }).sid;
};
const rowsOf = async (sid: string) =>
  Number((await dbRow<{ n: string }>('select count(*) as n from refresh_tokens where family_id = $1', [sid]))!.n);

function expectReused(res: CallResult, what: string) {
  assert.is(res.error?.data.appCode, 'REFRESH_TOKEN_REUSED', `${what}: ${JSON.stringify(res.body)}`);
}

s('inside the grace window, a token two rotations old is reuse: the session ends', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const sid = sidOf(user.tokens.accessToken);
  const r0 = user.tokens.refreshToken;
  const r1 = (await refresh(svc, r0)).data.refreshToken;
  const r2 = await refresh(svc, r1);
  assert.is(r2.status, 200);
  // r1 is no longer the predecessor of an unused live token: r0 is theft.
  expectReused(await refresh(svc, r0), 'r0 after r1 was rotated');
  assert.is(await dbRow('select 1 from refresh_tokens where family_id = $1 and revoked_at is null', [sid]), undefined);
  assert.is((await query(svc.url, 'auth.me', undefined, { token: r2.data.accessToken })).status, 401);
});

s('the direct predecessor gets the same successor only while that successor is unused', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const r0 = user.tokens.refreshToken;
  const r1 = (await refresh(svc, r0)).data.refreshToken;
  assert.is((await refresh(svc, r0)).data.refreshToken, r1, 'two tabs: the same successor');
  const r2 = (await refresh(svc, r1)).data.refreshToken;
  assert.is((await refresh(svc, r1)).data.refreshToken, r2, 'r1 is the predecessor of the unused r2');
  await refresh(svc, r2);
  expectReused(await refresh(svc, r1), 'r1 once r2 was used');
});

s(
  'a session keeps at most three rows however often it is refreshed, and old tokens are still reuse',
  async ({ svc }) => {
    const user = await createVerifiedUser(svc.url);
    const sid = sidOf(user.tokens.accessToken);
    const tokens = [user.tokens.refreshToken];
    for (let i = 0; i < 25; i++) {
      const r = await refresh(svc, tokens[tokens.length - 1]!);
      assert.is(r.status, 200, JSON.stringify(r.body));
      tokens.push(r.data.refreshToken);
    }
    assert.ok((await rowsOf(sid)) <= 3, `${await rowsOf(sid)} rows for one session`);
    // Generation 7's row is long gone; its family and generation under the MAC still tell reuse.
    expectReused(await refresh(svc, tokens[7]!), 'a token whose row was deleted');
    const live = await dbRows('select revoked_reason from refresh_tokens where family_id = $1', [sid]);
    assert.ok(live.length > 0 && live.every((r) => r.revoked_reason !== null), 'every row revoked');
    assert.is((await refresh(svc, tokens[25]!)).error?.data.appCode, 'INVALID_REFRESH_TOKEN');
  },
);

s('the database itself refuses a second live token in one family (partial unique index)', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const sid = sidOf(user.tokens.accessToken);
  let code: string | undefined;
  try {
    await dbRows(
      `insert into refresh_tokens (id, user_id, family_id, parent_id, generation, token_hash, created_at, expires_at, family_expires_at)
       select gen_random_uuid(), user_id, family_id, id, generation + 100, 'x' || md5(random()::text), now(), expires_at, family_expires_at
         from refresh_tokens where family_id = $1`,
      [sid],
    );
  } catch (err) {
    code = (err as { code?: string }).code;
  }
  assert.is(code, '23505', 'unique violation');
});

s.run();
