import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Keyring } from './keyring.js';

/**
 * Opaque tokens. A refresh token is
 * base64url(id[16] || family[16] || generation[4] || HMAC(key, tag || id || family || generation)[32]):
 * 544 bits on the wire, 256 of them secret. The database keeps only
 * SHA-256(token). Two things follow from that layout:
 * - reuse is recognised without a row per used token: any token of a live
 *   session whose generation is older than the live one is a replay, and
 *   the MAC proves the family and generation were issued by us;
 * - the secret part is derived from the rest, so the successor of a
 *   just-rotated token can be handed out again inside the grace window
 *   without ever storing plaintext.
 * Tokens of the first layout (id[16] || HMAC(key, id)[32]) still parse: they
 * carry no family, which the caller then reads from the token's row.
 */

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

const ID_BYTES = 16;
const SECRET_BYTES = 32;
const LEGACY_BYTES = ID_BYTES + SECRET_BYTES;
const BODY_BYTES = ID_BYTES + ID_BYTES + 4;
const TOKEN_BYTES = BODY_BYTES + SECRET_BYTES;
const MAC_TAG = Buffer.from('refresh-token/v2\0');

export function uuidToBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}
function bytesToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What a presented token says about itself once its MAC checks out. */
export interface ParsedRefreshToken {
  id: string;
  tokenHash: string;
  /** Absent for tokens of the first layout. */
  familyId?: string;
  generation?: number;
}

/** The parts a token is derived from (a row of refresh_tokens has them all). */
export interface RefreshTokenIdentity {
  id: string;
  familyId: string;
  generation: number;
}

export class RefreshTokenCodec {
  constructor(private readonly keyring: Keyring) {}

  /** A new token: the first of a new family (id = family) or the next generation of one. */
  create(next?: { familyId: string; generation: number }): RefreshTokenIdentity & { token: string; tokenHash: string } {
    const id = randomUUID();
    const identity = { id, familyId: next?.familyId ?? id, generation: next?.generation ?? 0 };
    const token = this.encode(identity, 0);
    return { ...identity, token, tokenHash: sha256(token) };
  }

  /** Re-derives the token of an existing row under each ring key; returns the one matching its stored hash. */
  rederive(identity: RefreshTokenIdentity, tokenHash: string): string | undefined {
    const keys = this.keyring.refreshKeyCount;
    for (let i = 0; i < keys; i++) {
      const token = this.encode(identity, i);
      if (sha256(token) === tokenHash) return token;
    }
    for (let i = 0; i < keys; i++) {
      const legacy = this.encodeLegacy(identity.id, i);
      if (sha256(legacy) === tokenHash) return legacy;
    }
    return undefined;
  }

  /**
   * Parses a presented token and checks its MAC before any database access,
   * so garbage and forged tokens cost no query.
   */
  parse(token: string): ParsedRefreshToken | undefined {
    if (token.length > 128) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.toString('base64url') !== token) return undefined;
    if (raw.length === LEGACY_BYTES) {
      const idBytes = raw.subarray(0, ID_BYTES);
      const ok = this.keyring.refreshSecrets(idBytes).some((s) => timingSafeEqual(s, raw.subarray(ID_BYTES)));
      return ok ? { id: bytesToUuid(idBytes), tokenHash: sha256(token) } : undefined;
    }
    if (raw.length !== TOKEN_BYTES) return undefined;
    const body = raw.subarray(0, BODY_BYTES);
    const presented = raw.subarray(BODY_BYTES);
    const ok = this.keyring.refreshSecrets(Buffer.concat([MAC_TAG, body])).some((s) => timingSafeEqual(s, presented));
    if (!ok) return undefined;
    return {
      id: bytesToUuid(body.subarray(0, ID_BYTES)),
      familyId: bytesToUuid(body.subarray(ID_BYTES, 2 * ID_BYTES)),
      generation: body.readUInt32BE(2 * ID_BYTES),
      tokenHash: sha256(token),
    };
  }

  private encode(t: RefreshTokenIdentity, keyIndex: number): string {
    const generation = Buffer.alloc(4);
    generation.writeUInt32BE(t.generation);
    const body = Buffer.concat([uuidToBytes(t.id), uuidToBytes(t.familyId), generation]);
    const secret = this.keyring.refreshSecrets(Buffer.concat([MAC_TAG, body]))[keyIndex]!;
    return Buffer.concat([body, secret]).toString('base64url');
  }

  private encodeLegacy(id: string, keyIndex: number): string {
    const idBytes = uuidToBytes(id);
    return Buffer.concat([idBytes, this.keyring.refreshSecrets(idBytes)[keyIndex]!]).toString('base64url');
  }
}

/** A random single-use email/reset token (256 bits). */
export function newEmailToken(): string {
  return randomBytes(32).toString('base64url');
}
