import type { Request } from 'express';
import type { BrowserTokenPair, TokenPair } from '../../shared/dto.js';
import { AppError } from '../errors.js';
import type { SessionCookiePolicy } from '../http/session-cookie.js';
import type { Context } from './context.js';

/**
 * Browser sessions for procedures: `cookie: true` on a call that answers a
 * token pair moves the refresh token into the httpOnly session cookie, and
 * `auth.refresh` / `auth.logout` without a refresh token use that cookie.
 * Every use of the cookie is checked against the allowed origins first
 * (CSRF), before any session is made, rotated or ended.
 */

/** What a pair-issuing procedure answers: the pair, or the pair without its refresh token. */
export type Delivered<T> = T extends TokenPair ? TokenPair | BrowserTokenPair : T;

function requestOf(ctx: Context): Request {
  return ctx.res.req;
}

function isTokenPair(value: unknown): value is TokenPair {
  const v = value as Partial<TokenPair> | null | undefined;
  return typeof v?.accessToken === 'string' && typeof v.refreshToken === 'string';
}

/** The cookie may be used by this request: cookie sessions are on and the Origin is allowed. */
function assertCookieUse(ctx: Context, policy: SessionCookiePolicy): void {
  if (!policy.enabled) {
    throw new AppError('INVALID_INPUT', { field: 'cookie', message: 'Session cookies are turned off on this service' });
  }
  if (!policy.originAllowed(requestOf(ctx))) throw new AppError('FORBIDDEN');
}

function intoCookie(ctx: Context, policy: SessionCookiePolicy, pair: TokenPair): BrowserTokenPair {
  policy.set(ctx.res, pair.refreshToken, pair.refreshExpiresIn);
  const { refreshToken: _inCookie, ...rest } = pair;
  return rest;
}

/**
 * Runs a call that may answer a token pair (`auth.login`, a second-factor
 * answer, a passkey login, `auth.changePassword`) and, with `cookie: true`,
 * delivers the refresh token in the session cookie. Other answers (a
 * second-factor challenge) pass through unchanged.
 */
export async function issueTokens<T>(
  ctx: Context,
  cookie: boolean | undefined,
  issue: () => Promise<T>,
): Promise<Delivered<T>> {
  if (!cookie) return (await issue()) as Delivered<T>;
  const policy = ctx.sessionCookie;
  assertCookieUse(ctx, policy);
  const result = await issue();
  return (isTokenPair(result) ? intoCookie(ctx, policy, result) : result) as Delivered<T>;
}

const ENDS_SESSION = new Set(['INVALID_REFRESH_TOKEN', 'REFRESH_TOKEN_REUSED']);

/** `auth.refresh`: the token in the input, else the cookie's, rotated in place. */
export async function refreshTokens(
  ctx: Context,
  refreshToken: string | undefined,
): Promise<TokenPair | BrowserTokenPair> {
  if (refreshToken !== undefined) return ctx.services.sessions.refresh(ctx.sql, refreshToken, ctx.req);
  const policy = ctx.sessionCookie;
  assertCookieUse(ctx, policy);
  const presented = policy.read(requestOf(ctx));
  if (presented === undefined) throw new AppError('INVALID_REFRESH_TOKEN');
  try {
    return intoCookie(ctx, policy, await ctx.services.sessions.refresh(ctx.sql, presented, ctx.req));
  } catch (err) {
    // The session is over (revoked, expired, or ended for reuse): drop the
    // dead cookie so the browser stops presenting it.
    if (err instanceof AppError && ENDS_SESSION.has(err.code)) policy.clear(ctx.res);
    throw err;
  }
}

/** `auth.logout`: ends the session of the token in the input, else the cookie's, and clears the cookie. */
export async function endSession(ctx: Context, refreshToken: string | undefined): Promise<void> {
  if (refreshToken !== undefined) {
    await ctx.services.sessions.logout(ctx.sql, refreshToken, ctx.req);
    return;
  }
  const policy = ctx.sessionCookie;
  assertCookieUse(ctx, policy);
  const presented = policy.read(requestOf(ctx));
  if (presented !== undefined) await ctx.services.sessions.logout(ctx.sql, presented, ctx.req);
  policy.clear(ctx.res);
}
