/** Public shapes returned by the API. Dates are ISO-8601 strings. */
export interface PublicUser {
  id: string;
  email: string;
  fullName: string | null;
  emailVerified: boolean;
  isSuperuser: boolean;
  createdAt: string;
}

export interface AdminUser extends PublicUser {
  isActive: boolean;
  lockedUntil: string | null;
  failedAttempts: number;
  lastLoginAt: string | null;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Seconds until the refresh token expires if unused. */
  refreshExpiresIn: number;
  user: PublicUser;
}

/**
 * A token pair whose refresh token went into the httpOnly session cookie
 * (`cookie: true`) instead of the body: the page's scripts never see it.
 * `refreshToken` is then absent; it is typed optional (not `never`) so that
 * code handling either kind of answer reads it as `string | undefined`.
 */
export type BrowserTokenPair = Omit<TokenPair, 'refreshToken'> & { refreshToken?: string };

export interface SessionInfo {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

export interface SecurityEventItem {
  id: string;
  eventType: string;
  severity: string;
  outcome: string;
  userId: string | null;
  ip: string | null;
  createdAt: string;
  details: Record<string, unknown>;
}

/** Claims of a verified access token. */
export interface AccessClaims {
  sub: string;
  sid: string;
  sv: number;
  adm: boolean;
  iss: string;
  aud: string;
  iat: string;
  exp: string;
  jti: string;
}

export interface PagedResult<T> {
  items: T[];
  nextCursor: string | null;
}
