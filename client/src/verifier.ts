import type { AccessClaims } from '../../shared/dto.js';
import type { FetchLike } from './auth-client.js';
import { TokenVerificationError } from './errors.js';
import { base64urlDecode, paserkPublicKeyBytes, parseV4Public, signedBytes } from './paseto-v4.js';

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
const ED25519 = { name: 'Ed25519' } as const;

type KeyMap = Map<string, CryptoKey>;

async function importKeys(list: readonly PasetoPublicKey[]): Promise<KeyMap> {
  const map: KeyMap = new Map();
  for (const k of list) {
    const raw = typeof k?.kid === 'string' && typeof k.paserk === 'string' ? paserkPublicKeyBytes(k.paserk) : null;
    if (!raw) continue; // another key type: not ours to use
    try {
      map.set(k.kid, await crypto.subtle.importKey('raw', raw, ED25519, false, ['verify']));
    } catch {
      // not a valid Ed25519 point: skip it, keep the others
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

  constructor(
    private readonly opts: RemoteKeysOptions,
    private readonly now: () => number,
  ) {}

  private load(): Promise<KeyMap> {
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
        return this.keys;
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

  async get(kid: string): Promise<CryptoKey | undefined> {
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

function readFooterKid(footer: Uint8Array): string | null {
  if (footer.length === 0 || footer.length > MAX_FOOTER_BYTES) return null;
  try {
    const parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(footer)) as { kid?: unknown };
    return typeof parsed?.kid === 'string' ? parsed.kid : null;
  } catch {
    return null;
  }
}

function readClaims(message: Uint8Array): AccessClaims | null {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return null;
  const strings = ['sub', 'sid', 'iss', 'aud', 'iat', 'exp', 'jti'] as const;
  if (strings.some((k) => typeof c[k] !== 'string')) return null;
  if (typeof c.sv !== 'number' || typeof c.adm !== 'boolean') return null;
  if (c.nbf !== undefined && typeof c.nbf !== 'string') return null;
  return c as unknown as AccessClaims;
}

/** RFC 3339 time in ms; NaN when absent or unparsable. */
function time(value: unknown): number {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
}

/**
 * Creates a verifier for secure-auth access tokens, for services that
 * accept them without calling secure-auth on every request. Keys are
 * fetched from `/.well-known/paseto-keys` and cached, or given with `keys`.
 * Verification uses WebCrypto Ed25519 (Node >= 20, current browsers, Deno,
 * Bun, workers).
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
 *     req.user = await verifier.verify(token ?? '');  // { sub, sid, adm, exp, ... }
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
  const keyFor: (kid: string) => Promise<CryptoKey | undefined> =
    'keys' in options
      ? (() => {
          const imported = importKeys(options.keys);
          return async (kid) => (await imported).get(kid);
        })()
      : ((remote) => (kid) => remote.get(kid))(new RemoteKeys(options, now));

  return {
    async verify(token: string): Promise<AccessClaims> {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new TokenVerificationError('malformed');
      const parsed = parseV4Public(token);
      const kid = parsed && readFooterKid(parsed.footer);
      if (!parsed || !kid) throw new TokenVerificationError('malformed');

      const key = await keyFor(kid);
      if (!key) throw new TokenVerificationError('unknown_key');
      const valid = await crypto.subtle.verify(ED25519, key, parsed.signature, signedBytes(parsed));
      if (!valid) throw new TokenVerificationError('invalid_signature');

      // Only signed bytes are parsed as claims.
      const claims = readClaims(parsed.message);
      if (!claims) throw new TokenVerificationError('invalid_claims');
      const t = now();
      const exp = time(claims.exp);
      const iat = time(claims.iat);
      const rawNbf = (claims as { nbf?: unknown }).nbf;
      const nbf = rawNbf === undefined ? -Infinity : time(rawNbf);
      if (Number.isNaN(exp) || Number.isNaN(iat) || Number.isNaN(nbf)) throw new TokenVerificationError('invalid_claims');
      if (t - toleranceMs >= exp) throw new TokenVerificationError('expired');
      if (t + toleranceMs < iat || t + toleranceMs < nbf) throw new TokenVerificationError('not_yet_valid');
      if (options.issuer !== undefined && claims.iss !== options.issuer) throw new TokenVerificationError('wrong_issuer');
      if (claims.aud !== audience) throw new TokenVerificationError('wrong_audience');
      return claims;
    },
  };
}

