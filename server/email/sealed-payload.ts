import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for outbox payloads: a database dump holds no readable link.
 * Format: base64url(iv[12] || tag[16] || ciphertext). The tag length is
 * fixed on both sides and checked before decrypting: GCM would otherwise
 * accept a truncated tag (any prefix of the real one verifies), making a
 * forgery a matter of 2^32 tries instead of 2^128.
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

export function open(key: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('sealed payload too short');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}

/**
 * Opens with the first key that authenticates the payload (keys current
 * first); undefined if none does. GCM's tag makes a wrong key fail loudly,
 * never decrypt to garbage.
 */
export function openWithAny(keys: readonly Buffer[], sealed: string): string | undefined {
  for (const key of keys) {
    try {
      return open(key, sealed);
    } catch {
      /* not this key */
    }
  }
  return undefined;
}
