import { randomInt } from 'node:crypto';

/**
 * Recovery codes: 10 characters of an alphabet without look-alikes (no 0/o,
 * 1/i/l), shown as `xxxxx-xxxxx`, accepted with or without the dash, in any
 * case, with stray spaces. 31^10 ≈ 2^49.5 per code: with the lockout and the
 * second-factor rate limits, guessing one is hopeless.
 */

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const LENGTH = 10;

export function newRecoveryCode(): string {
  let raw = '';
  for (let i = 0; i < LENGTH; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
}

/** The canonical form digested at rest (10 characters, lower case), or null when it cannot be a code. */
export function normaliseRecoveryCode(input: string): string | null {
  const raw = input.replace(/[\s-]/g, '').toLowerCase();
  if (raw.length !== LENGTH) return null;
  for (const c of raw) if (!ALPHABET.includes(c)) return null;
  return raw;
}
