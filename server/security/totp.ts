import { timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/**
 * TOTP as RFC 6238 defines it with the parameters every authenticator app
 * supports: HMAC-SHA-1, 6 digits, 30-second steps, one step of clock drift
 * accepted either way. The only importer of `otpauth`.
 */

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps of drift accepted on each side of the current one. */
export const TOTP_WINDOW = 1;
/** 160 bits, the HMAC-SHA-1 block-friendly size RFC 4226 recommends. */
const SECRET_BYTES = 20;

export interface TotpSecret {
  /** Base32 (RFC 4648, no padding): what an authenticator app is given. */
  base32: string;
}

export function newTotpSecret(): TotpSecret {
  return { base32: new Secret({ size: SECRET_BYTES }).base32 };
}

/** The `otpauth://totp/` URI an authenticator app scans (as a QR code) or imports. */
export function totpUri(secretBase32: string, issuer: string, account: string): string {
  return totp(secretBase32, { issuer, label: account }).toString();
}

/** The step (time counter) an instant falls in. */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code of one step (for tests and tools; the server only checks codes). */
export function totpCode(secretBase32: string, step: number, digits = TOTP_DIGITS): string {
  return totp(secretBase32, { digits }).generate({ timestamp: step * TOTP_PERIOD_SECONDS * 1000 });
}

/**
 * The step whose code `code` is, among the current step and its neighbours
 * (earliest first), or null. Every candidate is compared in constant time.
 * The caller still has to claim the step (replay guard).
 */
export function matchTotp(secretBase32: string, code: string, now: Date): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const current = totpStep(now);
  let matched: number | null = null;
  for (let step = current - TOTP_WINDOW; step <= current + TOTP_WINDOW; step++) {
    const expected = Buffer.from(totpCode(secretBase32, step));
    if (timingSafeEqual(expected, Buffer.from(code)) && matched === null) matched = step;
  }
  return matched;
}

function totp(secretBase32: string, opts: { issuer?: string; label?: string; digits?: number } = {}): TOTP {
  return new TOTP({
    issuer: opts.issuer ?? '',
    label: opts.label ?? '',
    issuerInLabel: true,
    algorithm: 'SHA1',
    digits: opts.digits ?? TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** Base32 of raw secret bytes (RFC 6238's test vectors give their secret as ASCII). */
export function base32Of(bytes: Uint8Array): string {
  return new Secret({
    buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  }).base32;
}
