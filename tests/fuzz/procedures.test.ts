import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appRouter } from '../../server/trpc/routers/app.router.js';
import { deeplyNested, fuzzParameters, nastyString, nastyValue } from '../support/fuzz.js';
import { dbRow } from '../support/pg.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/**
 * Malformed input at every procedure, signed in and not: always an answer
 * below 500 with an appCode, never a stack, never a new account. Fixed seed
 * (see tests/support/fuzz.ts to run long).
 */
const s = suite<{ svc: TestService; user: TestUser }>('fuzz: procedure inputs');
s.before(async (ctx) => {
  ctx.svc = await startService();
  ctx.user = await createVerifiedUser(ctx.svc.url);
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

interface ProcedureDef {
  _def: { type: 'query' | 'mutation' | 'subscription' };
}
const procedures = Object.entries(
  (appRouter as unknown as { _def: { procedures: Record<string, ProcedureDef> } })._def.procedures,
).map(([path, p]) => ({ path, type: p._def.type }));

async function call(url: string, p: { path: string; type: string }, body: string | undefined, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res =
    p.type === 'query'
      ? await fetch(`${url}/trpc/${p.path}?input=${encodeURIComponent(body ?? '')}`, { headers })
      : await fetch(`${url}/trpc/${p.path}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text };
}

function assertClean(r: { status: number; text: string }, what: string): void {
  assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  assert.not.match(
    r.text,
    /"stack"|at [A-Za-z.]+ \(|node_modules|\/work\//,
    `${what}: internals in ${r.text.slice(0, 300)}`,
  );
  // Too large for the HTTP server itself (URL or body): refused before the app, with no body to speak of.
  if ([413, 414, 431].includes(r.status)) return;
  if (r.status >= 400) {
    let body: { error?: { data?: { appCode?: string } } } | undefined;
    try {
      body = JSON.parse(r.text) as typeof body;
    } catch {
      assert.unreachable(`${what}: ${r.status} with a body that is not JSON: ${r.text.slice(0, 200)}`);
    }
    assert.type(body?.error?.data?.appCode, 'string', `${what}: no appCode in ${r.status} ${r.text.slice(0, 300)}`);
  }
}

const usersCount = async () => Number((await dbRow<{ n: string }>('select count(*) as n from users'))!.n);

s('every procedure there is is covered', () => {
  assert.ok(procedures.length >= 20, procedures.map((p) => p.path).join(' '));
});

s(
  'arbitrary JSON to every procedure, anonymous and signed in: a clean 4xx or a 200, no new account',
  async ({ svc, user }) => {
    const before = await usersCount();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...procedures), nastyValue, fc.boolean(), async (p, input, signedIn) => {
        const r = await call(svc.url, p, JSON.stringify(input), signedIn ? user.tokens.accessToken : undefined);
        assertClean(r, `${p.path} ${JSON.stringify(input)?.slice(0, 120)}`);
      }),
      fuzzParameters(250),
    );
    assert.is(await usersCount(), before, 'no account was created by malformed input');
  },
);

s('broken JSON, deep nesting and non-JSON bodies to every procedure', async ({ svc, user }) => {
  const bodies = fc.oneof(
    nastyString,
    fc.constantFrom(
      '{',
      '{"email":',
      '[',
      'null',
      'undefined',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"x":1}}}',
    ),
    fc.integer({ min: 100, max: 20_000 }).map(deeplyNested),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...procedures), bodies, async (p, body) => {
      assertClean(await call(svc.url, p, body, user.tokens.accessToken), `${p.path} ${body.slice(0, 80)}`);
    }),
    fuzzParameters(150),
  );
  assert.is(({} as Record<string, unknown>).admin, undefined, 'no prototype pollution in this process');
});

s.run();
