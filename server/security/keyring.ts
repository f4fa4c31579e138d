import { createHmac, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';

/**
 * All token keys are derived from SECRET_KEY with HKDF-SHA256, one `info`
 * label per purpose, so one secret can be rotated as a whole and no key is
 * ever reused for two jobs.
 */

const SALT = Buffer.from('secure-auth/v1');
// DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function deriveKey(secret: string, label: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SALT, Buffer.from(label), length));
}

export interface SigningKey {
  /** PASERK id of the public key (`k4.pid.…`), carried in the token footer. */
  kid: string;
  /** PASERK of the public key (`k4.public.…`). */
  paserk: string;
  status: 'current' | 'previous';
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyBytes: Buffer;
}

/** PASERK k4.pid: base64url(BLAKE2b-264("k4.pid." || "k4.public." || base64url(pk))). */
export function paserkPid(publicPaserk: string): string {
  const header = 'k4.pid.';
  const digest = blake2b(Buffer.from(header + publicPaserk, 'utf8'), { dkLen: 33 });
  return header + Buffer.from(digest).toString('base64url');
}

function signingKeyFrom(secret: string, status: SigningKey['status']): SigningKey {
  const seed = deriveKey(secret, 'paseto-v4-public-ed25519');
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  const publicKeyBytes = Buffer.from(jwk.x, 'base64url');
  const paserk = 'k4.public.' + publicKeyBytes.toString('base64url');
  return { kid: paserkPid(paserk), paserk, status, privateKey, publicKey, publicKeyBytes };
}

export class Keyring {
  readonly current: SigningKey;
  readonly all: readonly SigningKey[];
  private readonly byKid: ReadonlyMap<string, SigningKey>;
  private readonly refreshKeys: readonly Buffer[];
  /** Email/reset digest keys, current first: the current one digests new tokens. */
  private readonly emailTokenKeys: readonly Buffer[];
  /** Seals new outbox payloads. */
  readonly outboxKey: Buffer;
  /**
   * Opens outbox payloads, current first. During a rolling rotation old and
   * new instances share mail_outbox: without the previous keys, mail sealed
   * by the other generation would be undeliverable (lost mail).
   */
  readonly outboxKeys: readonly Buffer[];
  /**
   * Seal TOTP secrets (current first; older keys open what they sealed).
   * Second factors outlive a key rotation, so every ring key is tried.
   */
  readonly mfaSecretKeys: readonly Buffer[];
  /** Keyed digests of recovery codes, current first (they too outlive a rotation). */
  private readonly mfaDigestKeys: readonly Buffer[];

  constructor(secretKey: string, previousKeys: readonly string[] = []) {
    // A rollout often lists the new key in SECRET_KEY_PREVIOUS too: publish
    // each key once, as current if it is the current one.
    const previous = [...new Set(previousKeys)].filter((k) => k !== secretKey);
    this.current = signingKeyFrom(secretKey, 'current');
    this.all = [this.current, ...previous.map((s) => signingKeyFrom(s, 'previous'))];
    this.byKid = new Map(this.all.map((k) => [k.kid, k]));
    this.refreshKeys = [secretKey, ...previous].map((s) => deriveKey(s, 'refresh-token-secret'));
    const secrets = [secretKey, ...previous];
    this.emailTokenKeys = secrets.map((s) => deriveKey(s, 'email-token-digest'));
    this.outboxKeys = secrets.map((s) => deriveKey(s, 'mail-outbox-aes-256-gcm'));
    this.outboxKey = this.outboxKeys[0]!;
    this.mfaSecretKeys = secrets.map((s) => deriveKey(s, 'mfa-secret-aes-256-gcm'));
    this.mfaDigestKeys = secrets.map((s) => deriveKey(s, 'mfa-code-digest'));
  }

  verificationKey(kid: string): SigningKey | undefined {
    return this.byKid.get(kid);
  }

  /** How many keys refresh tokens may be made under (the current one and SECRET_KEY_PREVIOUS). */
  get refreshKeyCount(): number {
    return this.refreshKeys.length;
  }

  /** Secret part of a refresh token derived from the rest of it, under each ring key (current first). */
  refreshSecrets(id: Buffer): Buffer[] {
    return this.refreshKeys.map((k) => createHmac('sha256', k).update(id).digest());
  }

  /**
   * Keyed digest of an email/reset token (current key: what new tokens store),
   * so a leaked table cannot be replayed.
   */
  emailTokenDigest(token: string): string {
    return createHmac('sha256', this.emailTokenKeys[0]!).update(token).digest('base64url');
  }

  /**
   * The token's digest under each ring key (current first), for lookups: a
   * link mailed before a routine rotation keeps working while its key is in
   * SECRET_KEY_PREVIOUS.
   */
  emailTokenDigests(token: string): string[] {
    return this.emailTokenKeys.map((k) => createHmac('sha256', k).update(token).digest('base64url'));
  }

  /**
   * Keyed digest used as a lookup key for values we must not store in
   * plaintext. Current key only: rows keyed by it (login throttles) are
   * short-lived, so a rotation merely resets them.
   */
  lookupDigest(namespace: string, value: string): string {
    return createHmac('sha256', this.emailTokenKeys[0]!)
      .update(namespace + '\0' + value)
      .digest('base64url');
  }

  /**
   * Digests of a long-lived second-factor value (a recovery code) under each
   * ring key, current first: the first is what new rows store, all are
   * matched on use.
   */
  mfaDigests(namespace: string, value: string): string[] {
    return this.mfaDigestKeys.map((k) =>
      createHmac('sha256', k)
        .update(namespace + '\0' + value)
        .digest('base64url'),
    );
  }

  publicKeys(): Array<{ kid: string; paserk: string; status: SigningKey['status'] }> {
    return this.all.map(({ kid, paserk, status }) => ({ kid, paserk, status }));
  }
}
