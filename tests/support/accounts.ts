/**
 * Helpers for the account-flow suites (register, verify, login, lockout,
 * reset, change password): a direct database handle for the rows the docs
 * names, mail waits, and error assertions on what a client observes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenPair } from '../../shared/dto.js';
import { testGlobals } from './globals.js';
import { dbRow, dbRows } from './pg.js';
import { startService, type TestService } from './service.js';
import { mutation, type CallResult } from './http.js';
import { linkToken, type CapturedMail } from './smtp.js';
import { strongPassword, uniqueEmail } from './users.js';

/** Direct SQL on the shared test database: the tests read and poke rows as an operator would. */
export interface TestDb {
  rows<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  row<T = any>(text: string, params?: unknown[]): Promise<T | undefined>;
  close(): Promise<void>;
}

/** The same pool as tests/support/pg.ts (one pool per run, closed with the process). */
export function openDb(): TestDb {
  return { rows: dbRows, row: dbRow, close: async () => undefined };
}

/**
 * A suite with a running service (`svc`) and a database handle (`db`),
 * started before its first test and closed after its last.
 */
export function accountSuite(name: string, env: Record<string, string> = {}) {
  const s = suite<{ svc: TestService; db: TestDb }>(name);
  s.before(async (ctx) => {
    ctx.svc = await startService(env);
    ctx.db = openDb();
  });
  s.after(async (ctx) => {
    await ctx.svc.close();
  });
  return s;
}

export interface UserRowView {
  id: string;
  email: string;
  hashed_password: string;
  email_verified_at: Date | null;
  is_active: boolean;
  failed_attempts: number;
  locked_until: Date | null;
  session_version: number;
  last_login_at: Date | null;
}

export async function userRow(db: TestDb, email: string): Promise<UserRowView | undefined> {
  return db.row<UserRowView>('select * from users where email = $1', [email]);
}

/** The lockouts of a user, oldest first, with their length in seconds. */
export async function lockoutRows(db: TestDb, userId: string) {
  return db.rows<{
    failed_attempts: number;
    locked_at: Date;
    locked_until: Date;
    released_at: Date | null;
    released_by: string | null;
    seconds: number;
  }>(
    `select failed_attempts, locked_at, locked_until, released_at, released_by,
            extract(epoch from locked_until - locked_at)::float8 as seconds
       from lockouts where user_id = $1 order by locked_at`,
    [userId],
  );
}

/** The database's clock: a marker for "mail enqueued after this point". */
export async function dbNow(db: TestDb): Promise<Date> {
  return (await db.row<{ now: Date }>('select now() as now'))!.now;
}

/**
 * Waits until every mail enqueued since `since` has left the outbox (sent or
 * given up). The capture stores a message before it acknowledges it, so
 * afterwards `smtp.all(...)` is complete: "no mail arrived" becomes a fact,
 * not a guess about timing.
 */
export async function outboxSettled(db: TestDb, since: Date, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await db.row<{ n: string }>(
      'select count(*) as n from mail_outbox where created_at >= $1 and sent_at is null and failed_at is null',
      [since],
    );
    if (Number(r?.n) === 0) return;
    if (Date.now() > deadline) throw new Error(`mail outbox still has ${r?.n} pending messages`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `n` messages with this subject have reached `to`; returns them oldest first. */
export async function waitForMails(
  to: string,
  subject: string,
  n: number,
  timeoutMs = 15_000,
): Promise<CapturedMail[]> {
  const smtp = testGlobals().smtp;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = smtp.all(to, subject);
    if (found.length >= n) return found;
    if (Date.now() > deadline) throw new Error(`expected ${n} "${subject}" mails to ${to}, got ${found.length}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Asserts a tRPC error as a client sees it: HTTP status, tRPC code and appCode, no internals. */
export function expectError(res: CallResult, trpcCode: string, appCode: string): NonNullable<CallResult['error']> {
  assert.ok(res.error, `expected ${appCode}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.is(res.error!.data.code, trpcCode, `tRPC code of ${JSON.stringify(res.body)}`);
  assert.is(res.error!.data.appCode, appCode, `appCode of ${JSON.stringify(res.body)}`);
  assert.is(res.error!.data.stack, undefined);
  return res.error!;
}

/** Asserts ACCOUNT_LOCKED with a positive retryAfter that the Retry-After header repeats; returns it. */
export function expectLocked(res: CallResult): number {
  const err = expectError(res, 'TOO_MANY_REQUESTS', 'ACCOUNT_LOCKED');
  assert.is(res.status, 429);
  const retryAfter = err.data.retryAfter;
  assert.type(retryAfter, 'number');
  assert.ok(Number.isInteger(retryAfter) && retryAfter! >= 1, `retryAfter ${retryAfter}`);
  assert.is(res.headers.get('retry-after'), String(retryAfter));
  return retryAfter!;
}

/** Registers an account and returns the verification link's token (when verification is on). */
export async function registerAccount(
  url: string,
  opts: { email?: string; password?: string; fullName?: string } = {},
): Promise<{ email: string; password: string; verifyToken: string }> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? strongPassword();
  const reg = await mutation(url, 'auth.register', {
    email,
    password,
    ...(opts.fullName ? { fullName: opts.fullName } : {}),
  });
  if (reg.status !== 200) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const mail = await testGlobals().smtp.waitFor(email, 'Verify your email');
  return { email, password, verifyToken: linkToken(mail, 'verify-email') };
}

/** Registers and verifies an account (not logged in). */
export async function verifiedAccount(
  url: string,
  opts: { email?: string; password?: string } = {},
): Promise<{ email: string; password: string }> {
  const { email, password, verifyToken } = await registerAccount(url, opts);
  const v = await mutation(url, 'auth.verifyEmail', { token: verifyToken });
  if (v.status !== 200) throw new Error(`verify failed: ${JSON.stringify(v.body)}`);
  return { email, password };
}

export async function login(url: string, email: string, password: string): Promise<CallResult<TokenPair>> {
  return mutation<TokenPair>(url, 'auth.login', { email, password });
}

/** Logs in and fails the test unless it succeeds. */
export async function loginOk(url: string, email: string, password: string): Promise<TokenPair> {
  const res = await login(url, email, password);
  assert.is(res.status, 200, `login: ${JSON.stringify(res.body)}`);
  return res.data;
}

/** The scrypt-kdf parameters in a stored hash (base64 of the 96-byte key: "scrypt", version, logN, r, p, ...). */
export function scryptParams(stored: string): { logN: number; r: number; p: number } {
  const key = Buffer.from(stored, 'base64');
  assert.is(key.length, 96, 'scrypt-kdf keys are 96 bytes');
  assert.is(key.subarray(0, 6).toString('latin1'), 'scrypt', 'scrypt-kdf header');
  return { logN: key[7]!, r: key.readUInt32BE(8), p: key.readUInt32BE(12) };
}

/** ASCII letters and digits to their fullwidth forms (NFKC maps them back). */
export function fullwidth(s: string): string {
  return s.replace(/[A-Za-z0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
}

/**
 * Holds every verification of `password` by this service's hasher after
 * scrypt has run, until released: a deterministic window in which another
 * request (a reset, a password change) can commit between a login's password
 * check and what the login does next. No sleeping, no timing.
 */
export function pauseVerification(
  svc: { deps: { hasher: { verify(stored: string, password: string): Promise<boolean> } } },
  password: string,
) {
  const hasher = svc.deps.hasher;
  const original = hasher.verify;
  let enter!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (enter = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  hasher.verify = async (stored: string, pw: string) => {
    const ok = await original.call(hasher, stored, pw);
    if (pw === password) {
      enter();
      await released;
    }
    return ok;
  };
  return {
    /** Resolves once a verification of the password has run and is being held. */
    reached,
    release: () => release(),
    restore: () => {
      release();
      hasher.verify = original;
    },
  };
}
