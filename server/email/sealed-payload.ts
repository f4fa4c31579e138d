import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for outbox payloads: a database dump holds no readable link.
 * Format: base64url(iv[12] || tag[16] || ciphertext).
 */
export function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

export function open(key: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
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
