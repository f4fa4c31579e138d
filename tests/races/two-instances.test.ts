import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { registerAccount, verifiedAccount } from '../support/accounts.js';
import { mutation, type CallResult } from '../support/http.js';
import { dbRow, dbRows } from '../support/pg.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { strongPassword, uniqueEmail } from '../support/users.js';

/**
 * Two service processes on one database, each holding its own pool and
 * memory, as two replicas behind a load balancer: every race below is
 * decided by the database alone. Calls alternate between the two.
 */
const THRESHOLD = 3;
const s = suite<{ a: ServiceProcess; b: ServiceProcess }>('races: two service processes');
s.before(async (ctx) => {
  const env = { LOCKOUT_THRESHOLD: String(THRESHOLD), LOCKOUT_MINUTES: '5', LOCKOUT_MAX_MINUTES: '10' };
  [ctx.a, ctx.b] = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
});
s.after(async (ctx) => {
  await Promise.all([ctx.a?.stop(), ctx.b?.stop()]);
});

const either = (ctx: { a: ServiceProcess; b: ServiceProcess }, i: number) => (i % 2 ? ctx.b : ctx.a).url;
const sidOf = (accessToken: string): string => {
  const body = Buffer.from(accessToken.split('.')[2]!, 'base64url');
  return (JSON.parse(body.subarray(0, body.length - 64).toString('utf8')) as { sid: string }).sid;
};
const liveTokens = async (column: 'family_id' | 'user_id', id: string) =>
  Number(
    (await dbRow<{ n: string }>(
      `select count(*) as n from refresh_tokens where ${column} = $1 and used_at is null and revoked_at is null and expires_at > now()`,
      [id],
    ))!.n,
  );
const appCode = (r: CallResult) => r.error?.data.appCode ?? String(r.status);

s(
  'a login burst over both processes: at most THRESHOLD-1 INVALID_CREDENTIALS, and the lock is never cleared by a success',
  async (ctx) => {
    const { email, password } = await verifiedAccount(ctx.a.url);
    const calls = Array.from({ length: 16 }, (_, i) =>
      mutation(either(ctx, i), 'auth.login', { email, password: strongPassword() }),
    );
    // The right password joins the burst last, from both sides.
    calls.push(
      mutation(ctx.a.url, 'auth.login', { email, password }),
      mutation(ctx.b.url, 'auth.login', { email, password }),
    );
    const answers = await Promise.all(calls);
    const codes = answers.map(appCode);
    const invalid = codes.filter((c) => c === 'INVALID_CREDENTIALS').length;
    assert.ok(invalid <= THRESHOLD - 1, `${invalid} INVALID_CREDENTIALS: ${codes.join(' ')}`);
    assert.ok(
      codes.every((c) => ['INVALID_CREDENTIALS', 'ACCOUNT_LOCKED', '200'].includes(c)),
      codes.join(' '),
    );
    const user = (await dbRow<{ id: string; locked_until: Date | null }>(
      'select id, locked_until from users where email = $1',
      [email],
    ))!;
    assert.ok(user.locked_until && user.locked_until > new Date(), 'the account is still locked');
    assert.is((await dbRows('select 1 from lockouts where user_id = $1', [user.id])).length, 1, 'one lockout');
  },
);

s('100 parallel refreshes of one token over both processes: one successor, one live token', async (ctx) => {
  const { email, password } = await verifiedAccount(ctx.a.url);
  const pair = (await mutation<TokenPair>(ctx.a.url, 'auth.login', { email, password })).data;
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      mutation<TokenPair>(either(ctx, i), 'auth.refresh', { refreshToken: pair.refreshToken }),
    ),
  );
  for (const r of answers) assert.is(r.status, 200, JSON.stringify(r.body));
  assert.is(new Set(answers.map((r) => r.data.refreshToken)).size, 1, 'one successor');
  assert.is(await liveTokens('family_id', sidOf(pair.accessToken)), 1);
});

s('refreshes racing logout and revokeAll leave no live token', async (ctx) => {
  const { email, password } = await verifiedAccount(ctx.a.url);
  for (const ending of ['logout', 'revokeAll'] as const) {
    const pair = (await mutation<TokenPair>(ctx.a.url, 'auth.login', { email, password })).data;
    let token = pair.refreshToken;
    const chain = (async () => {
      // A client refreshing as fast as it can, alternating processes.
      for (let i = 0; i < 20; i++) {
        const r = await mutation<TokenPair>(either(ctx, i), 'auth.refresh', { refreshToken: token });
        if (r.status !== 200) return;
        token = r.data.refreshToken;
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    const end =
      ending === 'logout'
        ? mutation(ctx.b.url, 'auth.logout', { refreshToken: pair.refreshToken })
        : mutation(ctx.b.url, 'sessions.revokeAll', {}, { token: pair.accessToken });
    await Promise.all([chain, end]);
    assert.is(await liveTokens('family_id', sidOf(pair.accessToken)), 0, `${ending}: no live token`);
  }
});

s('two registrations of one email at once: one account, the same answer to both', async (ctx) => {
  const email = uniqueEmail('twice');
  const [x, y] = await Promise.all([
    mutation(ctx.a.url, 'auth.register', { email, password: strongPassword() }),
    mutation(ctx.b.url, 'auth.register', { email, password: strongPassword() }),
  ]);
  assert.is(x.status, 200, JSON.stringify(x.body));
  assert.equal(x.body, y.body);
  assert.is((await dbRows('select 1 from users where email = $1', [email])).length, 1);
});

s('parallel uses of one email token: exactly one wins', async (ctx) => {
  const { verifyToken } = await registerAccount(ctx.a.url);
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => mutation(either(ctx, i), 'auth.verifyEmail', { token: verifyToken })),
  );
  const codes = answers.map(appCode);
  assert.is(codes.filter((c) => c === '200').length, 1, codes.join(' '));
  assert.is(codes.filter((c) => c === 'INVALID_TOKEN').length, 9, codes.join(' '));
});

s.run();
