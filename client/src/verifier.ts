import type { AccessClaims } from '../../shared/dto.js';
import type { FetchLike } from './auth-client.js';
import { ClaimValidationError, InspectFooter, PublicProtocol } from 'paseto';
import { ImportPublicKeyFactory, VerifyFactory, type PublicKey } from 'paseto/v4/public';
import { TokenVerificationError, type TokenVerificationReason } from './errors.js';

/** One entry of `GET /.well-known/paseto-keys`. */
export interface PasetoPublicKey {
  /** PASERK id (`k4.pid.…`), the `kid` in the token footer. */
  kid: string;
  /** The key itself (`k4.public.…`). */
  paserk: string;
  /** `previous` keys still verify tokens signed before a rotation. */
  status?: 'current' | 'previous';
}

interface CommonOptions {
  /** Expected `aud`; the service's TOKEN_AUDIENCE. Default `secure-auth`. */
  audience?: string;
  /** Expected `iss`, the service's PUBLIC_URL. Checked when given (recommended). */
  issuer?: string;
  /** Allowed clock difference for `exp`, `iat` and `nbf`, in seconds. Default 60, at most 300. */
  clockToleranceSeconds?: number;
  /** The current time; for tests. */
  now?: () => Date;
}

export interface RemoteKeysOptions extends CommonOptions {
  /** The service's base URL; keys come from `${url}/.well-known/paseto-keys`. */
  url: string;
  fetch?: FetchLike;
  /** How long fetched keys are trusted before they are fetched again. Default 300 s (the service's Cache-Control). */
  cacheSeconds?: number;
  /**
   * An unknown `kid` fetches the keys again at most this often (default
   * 10 s), so tokens with made-up key ids cannot turn every verification
   * into a request to the service.
   */
  unknownKidCooldownSeconds?: number;
  /**
   * After a failed key fetch (service down), the next attempt waits this long,
   * doubling per failure up to 60 s (default 1 s), so a verifier that has no
   * keys yet does not send one request per verification to a service that is
   * already struggling. Verifications in between fail with `keys_unavailable`.
   */
  fetchRetrySeconds?: number;
}

export interface StaticKeysOptions extends CommonOptions {
  /** Fixed keys, e.g. a copy of the service's `/.well-known/paseto-keys` `keys` array. */
  keys: readonly PasetoPublicKey[];
}

export type TokenVerifierOptions = RemoteKeysOptions | StaticKeysOptions;

/** Verifies secure-auth access tokens offline. */
export interface TokenVerifier {
  /**
   * Checks the v4.public signature against the service's keys, then `exp`,
   * `iat`/`nbf`, `aud` and (if configured) `iss`. Resolves to the claims;
   * rejects with {@link TokenVerificationError}.
   *
   * Offline verification cannot see a logout or revocation: the token stays
   * valid until it expires (ACCESS_TOKEN_EXPIRE_MINUTES). Call the service's
   * `auth.me` when that matters.
   */
  verify(token: string): Promise<AccessClaims>;
}

const MAX_TOKEN_LENGTH = 8192;
const MAX_FOOTER_BYTES = 1024;
const MAX_FETCH_BACKOFF_MS = 60_000;

// The maintained PASETO implementation (WebCrypto Ed25519: Node >= 20, browsers, Deno, Bun, workers),
// bundled into both builds of this package; only v4.public verification and PASERK import are used.
const v4 = new PublicProtocol(VerifyFactory, ImportPublicKeyFactory);

type KeyMap = Map<string, PublicKey>;

async function importKeys(list: readonly PasetoPublicKey[]): Promise<KeyMap> {
  const map: KeyMap = new Map();
  for (const k of list) {
    if (typeof k?.kid !== 'string' || typeof k.paserk !== 'string' || !k.paserk.startsWith('k4.public.')) continue;
    try {
      map.set(k.kid, await v4.ImportPublicKey(k.paserk as `k4.public.${string}`));
    } catch {
      // not a valid Ed25519 key: skip it, keep the others
    }
  }
  return map;
}

/** The keys of one service, cached and re-fetched on expiry or an unknown kid. */
class RemoteKeys {
  private keys: KeyMap | null = null;
  private fetchedAt = 0;
  private lastUnknownFetch = -Infinity;
  private loading: Promise<KeyMap> | null = null;
  private failures = 0;
  private retryAt = -Infinity;

  constructor(
    private readonly opts: RemoteKeysOptions,
    private readonly now: () => number,
  ) {}

  private load(): Promise<KeyMap> {
    if (this.now() < this.retryAt) return Promise.reject(new Error('key fetch backing off after a failure'));
    this.loading ??= (async () => {
      try {
        const url = `${this.opts.url.replace(/\/+$/, '')}/.well-known/paseto-keys`;
        // Called detached: a browser's fetch throws "Illegal invocation" when called as a method of another object.
        const fetchFn = this.opts.fetch ?? globalThis.fetch;
        const res = await fetchFn(url, { headers: { accept: 'application/json' } });
        if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
        const body = (await res.json()) as { keys?: unknown };
        if (!Array.isArray(body?.keys)) throw new Error(`GET ${url}: no keys array`);
        this.keys = await importKeys(body.keys as PasetoPublicKey[]);
        this.fetchedAt = this.now();
        this.failures = 0;
        return this.keys;
      } catch (err) {
        const baseMs = (this.opts.fetchRetrySeconds ?? 1) * 1000;
        this.retryAt = this.now() + Math.min(baseMs * 2 ** this.failures, MAX_FETCH_BACKOFF_MS);
        this.failures++;
        throw err;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private async current(): Promise<KeyMap> {
    const maxAgeMs = (this.opts.cacheSeconds ?? 300) * 1000;
    if (this.keys && this.now() - this.fetchedAt < maxAgeMs) return this.keys;
    try {
      return await this.load();
    } catch (err) {
      // Keys we already trust stay usable while the service is unreachable.
      if (this.keys) return this.keys;
      throw new TokenVerificationError('keys_unavailable', { cause: err });
    }
  }

  async get(kid: string): Promise<PublicKey | undefined> {
    const known = (await this.current()).get(kid);
    if (known) return known;
    const cooldownMs = (this.opts.unknownKidCooldownSeconds ?? 10) * 1000;
    if (this.now() - this.lastUnknownFetch < cooldownMs) return undefined;
    // A kid we have not seen may be a key the service rotated to since we
    // fetched: look once more.
    this.lastUnknownFetch = this.now();
    try {
      return (await this.load()).get(kid);
    } catch {
      return undefined;
    }
  }
}

function footerKid(token: string): string | null {
  let footer: Uint8Array;
  try {
    footer = InspectFooter(token);
  } catch {
    return null;
  }
  if (footer.length === 0 || footer.length > MAX_FOOTER_BYTES) return null;
  try {
    const parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(footer)) as { kid?: unknown };
    return typeof parsed?.kid === 'string' ? parsed.kid : null;
  } catch {
    return null;
  }
}

/** The claims this service puts in every access token, with their types. */
function wellFormed(c: Record<string, unknown>): c is Record<string, unknown> & AccessClaims {
  const strings = ['sub', 'sid', 'iss', 'aud', 'iat', 'exp', 'jti'] as const;
  if (strings.some((k) => typeof c[k] !== 'string')) return false;
  return typeof c.sv === 'number' && typeof c.adm === 'boolean';
}

const REASON_OF_CLAIM: Record<string, TokenVerificationReason> = {
  exp: 'expired',
  iat: 'not_yet_valid',
  nbf: 'not_yet_valid',
  iss: 'wrong_issuer',
  aud: 'wrong_audience',
};

/**
 * Creates a verifier for secure-auth access tokens, for services that
 * accept them without calling secure-auth on every request. Keys are
 * fetched from `/.well-known/paseto-keys` and cached, or given with `keys`.
 * Verification uses the `paseto` package (WebCrypto Ed25519: Node >= 20,
 * current browsers, Deno, Bun, workers), bundled into this package.
 *
 * @example
 * ```ts
 * import { createTokenVerifier, TokenVerificationError } from '@secure-auth/client';
 *
 * const verifier = createTokenVerifier({
 *   url: 'https://auth.example.com',
 *   issuer: 'https://auth.example.com', // the service's PUBLIC_URL
 *   audience: 'secure-auth',            // its TOKEN_AUDIENCE
 * });
 *
 * app.use(async (req, res, next) => {
 *   const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
 *   try {
 *     req.user = await verifier.verify(token ?? '');  // { sub, sid, adm, amr, exp, ... }
 *     next();
 *   } catch (err) {
 *     if (err instanceof TokenVerificationError) res.status(401).end();
 *     else next(err);
 *   }
 * });
 * ```
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const now = () => (options.now ? options.now() : new Date()).getTime();
  const toleranceMs = Math.min(Math.max(options.clockToleranceSeconds ?? 60, 0), 300) * 1000;
  const audience = options.audience ?? 'secure-auth';
  const keyFor: (kid: string) => Promise<PublicKey | undefined> =
    'keys' in options
      ? (() => {
          const imported = importKeys(options.keys);
          return async (kid) => (await imported).get(kid);
        })()
      : (
          (remote) => (kid) =>
            remote.get(kid)
        )(new RemoteKeys(options, now));

  return {
    async verify(token: string): Promise<AccessClaims> {
      // v4.public only: no algorithm confusion with v4.local or other versions.
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !token.startsWith('v4.public.')) {
        throw new TokenVerificationError('malformed');
      }
      const kid = footerKid(token);
      if (!kid) throw new TokenVerificationError('malformed');
      const key = await keyFor(kid);
      if (!key) throw new TokenVerificationError('unknown_key');
      let claims: Record<string, unknown>;
      try {
        ({ claims } = await v4.Verify(key, token, {
          audience,
          ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
          clockTolerance: toleranceMs / 1000,
          now: new Date(now()),
          requiredClaims: ['sub', 'sid', 'sv', 'iat', 'jti'],
        }));
      } catch (err) {
        if (err instanceof ClaimValidationError) {
          throw new TokenVerificationError(REASON_OF_CLAIM[err.claim ?? ''] ?? 'invalid_claims', { cause: err });
        }
        throw new TokenVerificationError('invalid_signature', { cause: err });
      }
      if (!wellFormed(claims)) throw new TokenVerificationError('invalid_claims');
      return claims;
    },
  };
}
