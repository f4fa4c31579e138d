import type { Request, Response } from 'express';
import type { Config } from '../config/config.js';
import { allowedOrigins, isAllowedOrigin } from './origin-policy.js';

/**
 * The browser session cookie: the refresh token, where page scripts cannot
 * read it (httpOnly: an XSS cannot steal the session), sent only over HTTPS
 * (browsers treat http://localhost and 127.0.0.1 as secure too), never on a
 * cross-site request (SameSite=Strict), and `__Host-`: no Domain, Path=/,
 * Secure, so a sibling subdomain cannot plant or shadow it.
 */
export const SESSION_COOKIE = '__Host-secure-auth-session';

const TOKEN = /^[A-Za-z0-9_-]{16,512}$/;

/** The session cookie's value from a Cookie header, if present and token-shaped. */
export function readSessionCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return TOKEN.test(value) ? value : undefined;
  }
  return undefined;
}

const ATTRIBUTES = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' } as const;

/**
 * The cookie policy of one service instance: whether cookie sessions are on
 * (SESSION_COOKIE) and which origins may use them (PUBLIC_URL's and
 * CORS_ORIGINS).
 */
export class SessionCookiePolicy {
  readonly enabled: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(config: Pick<Config, 'sessionCookie' | 'publicUrl' | 'corsOrigins'>) {
    this.enabled = config.sessionCookie;
    this.origins = allowedOrigins(config);
  }

  /**
   * A request authenticated by the cookie, or asking for one, must come
   * from an allowed origin (CSRF: the browser attaches the cookie whoever
   * made the page; `Origin` says who did). A missing Origin is refused too:
   * browsers send it on every POST, so only a non-browser or a stripped
   * request lacks it.
   */
  originAllowed(req: Request): boolean {
    return isAllowedOrigin(req.get('origin'), this.origins);
  }

  read(req: Request): string | undefined {
    return readSessionCookie(req.get('cookie'));
  }

  set(res: Response, refreshToken: string, maxAgeSeconds: number): void {
    res.cookie(SESSION_COOKIE, refreshToken, { ...ATTRIBUTES, maxAge: Math.max(0, maxAgeSeconds) * 1000 });
  }

  clear(res: Response): void {
    res.clearCookie(SESSION_COOKIE, ATTRIBUTES);
  }
}
