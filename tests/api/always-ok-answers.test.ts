import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { registerAccount, verifiedAccount, waitForMails } from '../support/accounts.js';
import { testGlobals } from '../support/globals.js';
import { mutation, type CallResult } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';

/**
 * "Always ok" answers must not wait on the work done for a real account
 * (its writes, its mail): that wait is what a timing attacker measures to
 * tell real addresses from unknown ones. Shown without any clock: while the
 * tables that work writes to are locked, the answer still comes; the work
 * happens once the lock is gone.
 */
const s = suite<{ svc: TestService }>('api: always-ok answers do not wait on account work');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

/** Holds an exclusive lock on the tables the account work writes to, while `fn` runs. */
async function withTablesLocked<T>(fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testGlobals().databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('lock table email_tokens, mail_outbox in exclusive mode');
    return await fn();
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

/** The call's answer, or 'no answer' if it is still waiting after `ms` (a deadlock, not a timing measure). */
async function answerWithin(call: Promise<CallResult>, ms: number): Promise<CallResult | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), ms)));
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

s('requestPasswordReset for a real account answers while its writes are blocked; the mail follows', async ({ svc }) => {
  const { email } = await verifiedAccount(svc.url);
  const answer = await withTablesLocked(() =>
    answerWithin(mutation(svc.url, 'auth.requestPasswordReset', { email }), 5_000),
  );
  assert.not.equal(answer, 'no answer', 'the answer waited on the account work');
  assert.equal((answer as CallResult).body, { result: { data: { ok: true } } });
  await testGlobals().smtp.waitFor(email, 'Reset your password');
});

s('resendVerification for a real account answers while its writes are blocked; the mail follows', async ({ svc }) => {
  const { email } = await registerAccount(svc.url);
  const answer = await withTablesLocked(() =>
    answerWithin(mutation(svc.url, 'auth.resendVerification', { email }), 5_000),
  );
  assert.not.equal(answer, 'no answer', 'the answer waited on the account work');
  assert.equal((answer as CallResult).body, { result: { data: { ok: true } } });
  // The sign-up's mail and the resent one.
  await waitForMails(email, 'Verify your email', 2);
});

s.run();
