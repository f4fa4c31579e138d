import * as ScryptModule from 'scrypt-kdf';

// scrypt-kdf 4 ships `export default class` at runtime but named declarations
// in its typings; take whichever the runtime provides.
const Scrypt = (ScryptModule as unknown as { default?: typeof ScryptModule }).default ?? ScryptModule;
import { Semaphore } from './semaphore.js';

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

/**
 * scrypt password hashing (scrypt-kdf format: parameters, salt and checksum in
 * one 96-byte key, stored base64). Hashing runs on the libuv pool; the
 * semaphore keeps at least one pool thread free so token checks, DNS and fs
 * never queue behind a login storm, and bounds memory (each hash holds
 * 128 * r * 2^logN bytes).
 */
export class PasswordHasher {
  private readonly gate: Semaphore;
  private dummy?: Promise<string>;

  constructor(private readonly params: ScryptParams, concurrency: number) {
    this.gate = new Semaphore(concurrency);
  }

  /** Passwords are NFKC-normalised so the same text typed differently matches. */
  private static normalise(password: string): string {
    return password.normalize('NFKC');
  }

  hash(password: string): Promise<string> {
    return this.gate.run(async () => {
      const key = await Scrypt.kdf(PasswordHasher.normalise(password), this.params);
      return Buffer.from(key).toString('base64');
    });
  }

  /** False for a wrong password or a malformed stored hash; never throws on bad input. */
  verify(stored: string, password: string): Promise<boolean> {
    return this.gate.run(async () => {
      let key: Buffer;
      try {
        key = Buffer.from(stored, 'base64');
        if (key.length !== 96) return false;
        return await Scrypt.verify(key, PasswordHasher.normalise(password));
      } catch {
        return false;
      }
    });
  }

  /**
   * Verifies against a fixed hash at the current cost, so a login for an
   * unknown email takes as long as one for a known email (no enumeration by
   * timing).
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('dummy password for timing parity only');
    await this.verify(await this.dummy, password);
    return false;
  }

  /** True when a stored hash was made with other parameters than the current ones. */
  needsRehash(stored: string): boolean {
    try {
      const p = Scrypt.viewParams(Buffer.from(stored, 'base64'));
      return p.logN !== this.params.logN || p.r !== this.params.r || p.p !== this.params.p;
    } catch {
      return false;
    }
  }
}
