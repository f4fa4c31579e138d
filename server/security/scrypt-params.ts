import type { ScryptParams } from './password-hasher.js';

/**
 * The parameters recorded in a stored scrypt-kdf hash (base64 of 96 bytes:
 * "scrypt", a version byte, logN, then r and p as big-endian u32), read
 * without touching the hasher. Undefined for anything else.
 */
export function storedScryptParams(stored: string): ScryptParams | undefined {
  const key = Buffer.from(stored, 'base64');
  if (key.length !== 96 || key.subarray(0, 6).toString('latin1') !== 'scrypt') return undefined;
  return { logN: key[7]!, r: key.readUInt32BE(8), p: key.readUInt32BE(12) };
}

/**
 * True when a stored hash is cheaper to attack than one made with `current`:
 * less work (N*r*p) or less memory (N*r). Re-hashing goes only upward: a
 * login on an instance configured lower (a test setting, a rollback) must
 * never replace a stronger stored hash with a weaker one.
 */
export function weakerThan(stored: string, current: ScryptParams): boolean {
  const s = storedScryptParams(stored);
  if (!s) return false;
  const work = (p: ScryptParams) => 2 ** p.logN * p.r * p.p;
  const memory = (p: ScryptParams) => 2 ** p.logN * p.r;
  const weaker = work(s) < work(current) || memory(s) < memory(current);
  const stronger = work(s) > work(current) || memory(s) > memory(current);
  return weaker && !stronger;
}
