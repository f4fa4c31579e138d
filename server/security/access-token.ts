import { randomUUID, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { InspectFooter, PAE, PublicProtocol, PublicSign, PublicVerify, type Key } from 'paseto';
import type { AccessClaims, AuthMethod } from '../../shared/dto.js';
import type { Clock } from './clock.js';
import type { Keyring } from './keyring.js';

/**
 * PASETO v4.public access tokens: the only importer of `paseto`.
 *
 * paseto handles framing, claims and footers; the Ed25519 operation itself is
 * plugged in through paseto's extension API with node:crypto's synchronous
 * sign/verify. The built-in WebCrypto path runs on the libuv pool, where token
 * checks would queue behind scrypt hashes during a login storm; a synchronous
 * Ed25519 verify costs ~50 µs on the event loop instead.
 */

interface NodeEd25519Key extends Key {
  readonly algorithm: { readonly name: 'Ed25519' };
  readonly extractable: false;
  readonly type: 'public' | 'secret';
  readonly keyObject: KeyObject;
}

const HEADER = new TextEncoder().encode('v4.public.');
const nodeKey = (keyObject: KeyObject, type: 'public' | 'secret'): NodeEd25519Key =>
  Object.freeze({ algorithm: { name: 'Ed25519' } as const, extractable: false as const, type, keyObject });

const v4 = new PublicProtocol(
  PublicSign<4, NodeEd25519Key>({
    version: 4,
    run: async (key, message, footer, implicit) =>
      new Uint8Array(edSign(null, PAE([HEADER, message, footer, implicit]), key.keyObject)),
  }),
  PublicVerify<4, NodeEd25519Key>({
    version: 4,
    run: async (key, message, signature, footer, implicit) =>
      edVerify(null, PAE([HEADER, message, footer, implicit]), key.keyObject, signature),
  }),
);

/** Why a token was refused; callers map every kind to UNAUTHENTICATED. */
export class AccessTokenError extends Error {
  constructor(readonly reason: 'malformed' | 'unknown_key' | 'invalid') {
    super(`access token ${reason}`);
    this.name = 'AccessTokenError';
  }
}

export interface IssueInput {
  userId: string;
  sessionId: string;
  sessionVersion: number;
  isSuperuser: boolean;
  /** RFC 8176 methods of the login that started the session. */
  amr: readonly AuthMethod[];
}

export interface AccessTokenServiceOptions {
  keyring: Keyring;
  clock: Clock;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

const MAX_SKEW_SECONDS = 60;
const MAX_TOKEN_LENGTH = 4096;
/** Verified tokens remembered per process (a few hundred bytes each). */
const VERIFIED_CACHE_MAX = 4096;

interface VerifiedToken {
  claims: AccessClaims;
  /** The window, skew included, in which the token is accepted (ms since the epoch). */
  validFromMs: number;
  validUntilMs: number;
}

const timeClaimMs = (v: unknown): number | undefined => (typeof v === 'string' ? Date.parse(v) : undefined);
// Ids go into the session query as uuid parameters; a malformed one must be
// a refused token, not a database error (500) on every authenticated call.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const AUTH_METHODS: ReadonlySet<string> = new Set(['pwd', 'otp', 'kba', 'hwk', 'user']);
const isAmr = (v: unknown): boolean =>
  Array.isArray(v) && v.length <= 4 && v.every((m) => typeof m === 'string' && AUTH_METHODS.has(m));

export class AccessTokenService {
  private readonly signingKey: NodeEd25519Key;
  private readonly footer: Uint8Array;
  private readonly verifyKeys: Map<string, NodeEd25519Key>;
  /**
   * Tokens whose signature and claims were checked, by their exact text:
   * a client presents the same token on every call for its lifetime, and
   * the Ed25519 check and claim parsing were a fifth of `auth.me`'s CPU.
   * Only tokens that passed every check get in; the time window is checked
   * again on every hit; the oldest entry goes when it is full. The session
   * query still runs on every call: revocation is not cached.
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(private readonly opts: AccessTokenServiceOptions) {
    const current = opts.keyring.current;
    this.signingKey = nodeKey(current.privateKey, 'secret');
    this.footer = new TextEncoder().encode(JSON.stringify({ kid: current.kid }));
    this.verifyKeys = new Map(opts.keyring.all.map((k) => [k.kid, nodeKey(k.publicKey, 'public')]));
  }

  get ttlSeconds(): number {
    return this.opts.ttlSeconds;
  }

  async issue(input: IssueInput): Promise<string> {
    return v4.Sign(
      this.signingKey,
      {
        sub: input.userId,
        sid: input.sessionId,
        sv: input.sessionVersion,
        adm: input.isSuperuser,
        amr: [...input.amr],
        iss: this.opts.issuer,
        aud: this.opts.audience,
        jti: randomUUID(),
      },
      { footer: this.footer, expiresIn: this.opts.ttlSeconds, now: this.opts.clock.now() },
    );
  }

  /** Verifies signature, key, issuer, audience and time window; throws AccessTokenError. */
  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known) {
      const now = this.opts.clock.now().getTime();
      if (now >= known.validFromMs && now <= known.validUntilMs) return known.claims;
      // Out of its window: the full check below refuses it (or accepts it
      // again if the clock went back), and the entry is replaced either way.
      this.verified.delete(token);
    }
    const claims = await this.verifyFully(token);
    this.remember(token, claims);
    return claims;
  }

  private remember(token: string, claims: AccessClaims): void {
    const raw = claims as unknown as Record<string, unknown>;
    const skewMs = MAX_SKEW_SECONDS * 1000;
    const exp = timeClaimMs(raw.exp);
    if (exp === undefined || Number.isNaN(exp)) return;
    const starts = [timeClaimMs(raw.iat), timeClaimMs(raw.nbf)].filter((v): v is number => v !== undefined);
    if (starts.some(Number.isNaN)) return;
    if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, {
      claims: Object.freeze(claims),
      validFromMs: Math.max(-Infinity, ...starts) - skewMs,
      validUntilMs: exp + skewMs,
    });
  }

  private async verifyFully(token: string): Promise<AccessClaims> {
    // Only v4.public is accepted: no algorithm confusion with v4.local or older versions.
    if (token.length > MAX_TOKEN_LENGTH || !token.startsWith('v4.public.')) {
      throw new AccessTokenError('malformed');
    }
    let kid: unknown;
    try {
      kid = (JSON.parse(new TextDecoder().decode(InspectFooter(token))) as { kid?: unknown }).kid;
    } catch {
      throw new AccessTokenError('malformed');
    }
    const key = typeof kid === 'string' ? this.verifyKeys.get(kid) : undefined;
    if (!key) throw new AccessTokenError('unknown_key');
    try {
      const { claims } = await v4.Verify(key, token, {
        audience: this.opts.audience,
        issuer: this.opts.issuer,
        clockTolerance: MAX_SKEW_SECONDS,
        now: this.opts.clock.now(),
        requiredClaims: ['sub', 'sid', 'sv', 'exp', 'iat', 'jti'],
      });
      if (
        typeof claims.sub !== 'string' ||
        !UUID.test(claims.sub) ||
        typeof claims.sid !== 'string' ||
        !UUID.test(claims.sid) ||
        typeof claims.sv !== 'number' ||
        !Number.isSafeInteger(claims.sv) ||
        typeof claims.adm !== 'boolean' ||
        (claims.amr !== undefined && !isAmr(claims.amr))
      ) {
        throw new AccessTokenError('invalid');
      }
      // Tokens signed before sessions recorded their methods were password logins.
      return { ...claims, amr: (claims.amr as AuthMethod[] | undefined) ?? ['pwd'] } as unknown as AccessClaims;
    } catch (err) {
      if (err instanceof AccessTokenError) throw err;
      throw new AccessTokenError('invalid');
    }
  }
}
