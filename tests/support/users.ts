import { randomBytes } from 'node:crypto';
import type { TokenPair } from '../../shared/dto.js';
import { testGlobals } from './globals.js';
import { mutation } from './http.js';
import { linkToken } from './smtp.js';

/** A unique address per call: suites share one database. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}.${randomBytes(5).toString('hex')}@example.com`;
}

/** A password zxcvbn scores 4 that contains no email part. */
export function strongPassword(): string {
  return `Velvet-${randomBytes(6).toString('base64url')}-Harbor-Quince-92`;
}

export interface TestUser {
  email: string;
  password: string;
  tokens: TokenPair;
}

/** Registers, verifies through the real mail, and logs in. */
export async function createVerifiedUser(
  baseUrl: string,
  opts: { email?: string; password?: string } = {},
): Promise<TestUser> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? strongPassword();
  const reg = await mutation(baseUrl, 'auth.register', { email, password });
  if (reg.status !== 200) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const mail = await testGlobals().smtp.waitFor(email, 'Verify your email');
  const verified = await mutation(baseUrl, 'auth.verifyEmail', { token: linkToken(mail, 'verify-email') });
  if (verified.status !== 200) throw new Error(`verify failed: ${JSON.stringify(verified.body)}`);
  const login = await mutation<TokenPair>(baseUrl, 'auth.login', { email, password });
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  return { email, password, tokens: login.data };
}
