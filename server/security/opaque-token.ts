import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Keyring } from './keyring.js';

/**
 * Opaque tokens. A refresh token is base64url(id[16] || HMAC(key, id)[32]):
 * 384 bits on the wire, 256 of them secret. The database keeps only
 * SHA-256(token); because the secret part is derived from the id, the
 * successor of a just-rotated token can be handed out again inside the grace
 * window without ever storing plaintext.
 */

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

const ID_BYTES = 16;
const SECRET_BYTES = 32;

export function uuidToBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}
function bytesToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class RefreshTokenCodec {
  constructor(private readonly keyring: Keyring) {}

  /** A new token for a new row id. */
  create(): { id: string; token: string; tokenHash: string } {
    const id = randomUUID();
    const token = this.encode(id, 0);
    return { id, token, tokenHash: sha256(token) };
  }

  /** Re-derives the token of an existing row under each ring key; returns the one matching its stored hash. */
  rederive(id: string, tokenHash: string): string | undefined {
    const secrets = this.keyring.refreshSecrets(uuidToBytes(id));
    for (let i = 0; i < secrets.length; i++) {
      const token = this.encode(id, i);
      if (sha256(token) === tokenHash) return token;
    }
    return undefined;
  }

  /**
   * Parses a presented token and checks its MAC before any database access,
   * so garbage and forged tokens cost no query. Returns its id and hash.
   */
  parse(token: string): { id: string; tokenHash: string } | undefined {
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== ID_BYTES + SECRET_BYTES || raw.toString('base64url') !== token) return undefined;
    const idBytes = raw.subarray(0, ID_BYTES);
    const presented = raw.subarray(ID_BYTES);
    const ok = this.keyring.refreshSecrets(idBytes).some((s) => timingSafeEqual(s, presented));
    if (!ok) return undefined;
    return { id: bytesToUuid(idBytes), tokenHash: sha256(token) };
  }

  private encode(id: string, keyIndex: number): string {
    const idBytes = uuidToBytes(id);
    const secret = this.keyring.refreshSecrets(idBytes)[keyIndex]!;
    return Buffer.concat([idBytes, secret]).toString('base64url');
  }
}

/** A random single-use email/reset token (256 bits). */
export function newEmailToken(): string {
  return randomBytes(32).toString('base64url');
}
