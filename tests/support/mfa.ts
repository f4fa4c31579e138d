/**
 * Helpers for the second-factor suites: enrol TOTP through the API as a
 * user would, compute the app's codes on the service's own clock, and
 * finish logins.
 */
import * as assert from 'uvu/assert';
import type { AccessClaims, MfaChallenge, TokenPair } from '../../shared/dto.js';
import type { Clock } from '../../server/security/clock.js';
import { totpCode, totpStep } from '../../server/security/totp.js';
import { mutation, type CallResult } from './http.js';
import type { TestService } from './service.js';
import { createVerifiedUser, type TestUser } from './users.js';

export interface TotpUser extends TestUser {
  id: string;
  secret: string;
  factorId: string;
  recoveryCodes: string[];
}

/** The app's code for the current step of `clock`, or `offset` steps away. */
export function codeNow(secret: string, clock: Clock, offset = 0): string {
  return totpCode(secret, totpStep(clock.now()) + offset);
}

/** A verified user with a confirmed TOTP factor (the enrolling session stays live in `tokens`). */
export async function totpUser(svc: TestService, clock: Clock): Promise<TotpUser> {
  const u = await createVerifiedUser(svc.url);
  const enrolled = await mutation(
    svc.url,
    'mfa.totp.enroll',
    { currentPassword: u.password },
    { token: u.tokens.accessToken },
  );
  assert.is(enrolled.status, 200, JSON.stringify(enrolled.body));
  const { factorId, secret } = enrolled.data as { factorId: string; secret: string };
  const confirmed = await mutation(
    svc.url,
    'mfa.totp.confirm',
    { factorId, code: codeNow(secret, clock) },
    { token: u.tokens.accessToken },
  );
  assert.is(confirmed.status, 200, JSON.stringify(confirmed.body));
  return {
    ...u,
    id: u.tokens.user.id,
    secret,
    factorId,
    recoveryCodes: (confirmed.data as { recoveryCodes: string[] }).recoveryCodes,
  };
}

/** Logs in with the password and asserts the answer is a challenge. */
export async function challenge(url: string, email: string, password: string): Promise<MfaChallenge> {
  const res = await mutation<MfaChallenge>(url, 'auth.login', { email, password });
  assert.is(res.status, 200, JSON.stringify(res.body));
  assert.is(res.data.mfaRequired, true, 'a challenge, not a token pair');
  return res.data;
}

export async function verify(url: string, mfaToken: string, code: string): Promise<CallResult<TokenPair>> {
  return mutation<TokenPair>(url, 'auth.mfa.verify', { mfaToken, code });
}

export async function claimsOf(svc: TestService, accessToken: string): Promise<AccessClaims> {
  return svc.deps.accessTokens.verify(accessToken);
}
