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
  /** The account has at least one confirmed second factor. */
  mfaEnabled: boolean;
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
  /** RFC 8176 methods of the login that started the session, e.g. ["pwd","otp"]; kept through refreshes. */
  amr: AuthMethod[];
}

/** RFC 8176 authentication method references this service issues. */
export type AuthMethod = 'pwd' | 'otp' | 'kba' | 'hwk' | 'user';

/** A second factor of the signed-in account (`mfa.list`). */
export interface MfaFactorInfo {
  id: string;
  kind: 'totp' | 'passkey';
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** What `mfa.totp.enroll` answers: shown once, the factor counts only after `mfa.totp.confirm`. */
export interface TotpEnrollment {
  factorId: string;
  /** The 160-bit secret in base32, for typing into the app. */
  secret: string;
  /** `otpauth://totp/…` with issuer, account email, SHA-1, 6 digits, 30 s. */
  otpauthUri: string;
  /** `otpauthUri` as a QR code: an `<svg>` element (paths only, no script, no style attribute). */
  qrSvg: string;
}

/** What `auth.login` answers for an account with a second factor: no token yet, a challenge to answer. */
export interface MfaChallenge {
  mfaRequired: true;
  /** Opaque, single use, good only for the `auth.mfa.*` calls. */
  mfaToken: string;
  methods: Array<'totp' | 'passkey' | 'recovery_code'>;
  /** Seconds the mfaToken stays valid. */
  expiresIn: number;
}

export interface PagedResult<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * WebAuthn ceremony options as JSON, the shapes `@simplewebauthn/browser`
 * (and `navigator.credentials` after decoding) take. Binary fields are base64url.
 */
export interface PasskeyCredentialDescriptor {
  id: string;
  type: 'public-key';
  transports?: string[];
}
export interface PasskeyCreationOptions {
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  pubKeyCredParams: Array<{ type: 'public-key'; alg: number }>;
  timeout?: number;
  excludeCredentials?: PasskeyCredentialDescriptor[];
  authenticatorSelection?: {
    authenticatorAttachment?: 'platform' | 'cross-platform';
    requireResidentKey?: boolean;
    residentKey?: 'discouraged' | 'preferred' | 'required';
    userVerification?: 'discouraged' | 'preferred' | 'required';
  };
  attestation?: string;
  extensions?: Record<string, unknown>;
}
export interface PasskeyRequestOptions {
  challenge: string;
  timeout?: number;
  rpId?: string;
  allowCredentials?: PasskeyCredentialDescriptor[];
  userVerification?: 'discouraged' | 'preferred' | 'required';
  extensions?: Record<string, unknown>;
}
