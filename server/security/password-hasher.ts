import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ScryptPool, ScryptRefused } from './scrypt-pool.js';

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

/**
 * The scrypt-kdf key layout (Colin Percival's header format), 96 bytes,
 * stored base64: "scrypt", version 0, logN (1 byte), r and p (4 bytes each,
 * big-endian), a 32-byte salt, the first 16 bytes of SHA-256 over the 48
 * bytes so far, then HMAC-SHA-256 over the 64 bytes so far keyed with the
 * second half of the 64-byte scrypt key. Built here so the costly scrypt
 * step can run in the hashing processes; hashes stored before stay valid.
 */
const KEY_BYTES = 96;
const MAGIC = Buffer.from('scrypt', 'latin1');

interface ParsedKey {
  cost: ScryptParams;
  salt: Buffer;
  prefix64: Buffer;
  mac: Buffer;
}

function checksum(prefix48: Buffer): Buffer {
  return createHash('sha256').update(prefix48).digest().subarray(0, 16);
}

function parse(stored: string): ParsedKey | undefined {
  const key = Buffer.from(stored, 'base64');
  if (key.length !== KEY_BYTES) return undefined;
  if (!timingSafeEqual(key.subarray(48, 64), checksum(key.subarray(0, 48)))) return undefined;
  const cost = { logN: key.readUInt8(7), r: key.readUInt32BE(8), p: key.readUInt32BE(12) };
  // A tampered or foreign header must not make a verify allocate gigabytes.
  if (cost.logN < 1 || cost.logN > 30 || cost.r < 1 || cost.p < 1 || cost.r * cost.p >= 2 ** 30) return undefined;
  return { cost, salt: key.subarray(16, 48), prefix64: key.subarray(0, 64), mac: key.subarray(64, 96) };
}

/**
 * scrypt password hashing in the scrypt-kdf format. The scrypt work runs in
 * a pool of low-priority processes (see scrypt-pool): one per core by default
 * (HASH_CONCURRENCY), at most HASH_QUEUE_MAX waiting, beyond which calls are
 * shed with UNAVAILABLE. Each running hash holds 128 x r x 2^logN bytes.
 */
export class PasswordHasher {
  private readonly pool: ScryptPool;
  private dummy?: Promise<string>;

  constructor(
    private readonly params: ScryptParams,
    concurrency: number,
    queueMax: number,
  ) {
    this.pool = new ScryptPool(concurrency, queueMax);
  }

  /** Passwords are NFKC-normalised so the same text typed differently matches. */
  private static normalise(password: string): string {
    return password.normalize('NFKC');
  }

  async hash(password: string): Promise<string> {
    const { logN, r, p } = this.params;
    const key = Buffer.alloc(KEY_BYTES);
    MAGIC.copy(key, 0);
    key.writeUInt8(0, 6);
    key.writeUInt8(logN, 7);
    key.writeUInt32BE(r, 8);
    key.writeUInt32BE(p, 12);
    randomBytes(32).copy(key, 16);
    checksum(key.subarray(0, 48)).copy(key, 48);
    const derived = await this.pool.derive(PasswordHasher.normalise(password), key.subarray(16, 48), this.params);
    createHmac('sha256', derived.subarray(32)).update(key.subarray(0, 64)).digest().copy(key, 64);
    return key.toString('base64');
  }

  /**
   * False for a wrong password or a malformed stored hash. Throws only
   * UNAVAILABLE (queue full, hashing process lost twice): that is not a
   * wrong password and must not count as a failed login.
   */
  async verify(stored: string, password: string): Promise<boolean> {
    const parsed = parse(stored);
    if (!parsed) return false;
    let derived: Buffer;
    try {
      derived = await this.pool.derive(PasswordHasher.normalise(password), parsed.salt, parsed.cost);
    } catch (err) {
      if (err instanceof ScryptRefused) return false;
      throw err;
    }
    const mac = createHmac('sha256', derived.subarray(32)).update(parsed.prefix64).digest();
    return timingSafeEqual(mac, parsed.mac);
  }

  /**
   * Verifies against a fixed hash at the current cost, so a login for an
   * unknown email takes as long as one for a known email (no enumeration by
   * timing).
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('dummy password for timing parity only');
    // A failed first attempt (e.g. shed) must not stay cached.
    const dummy = await this.dummy.catch((err: unknown) => {
      this.dummy = undefined;
      throw err;
    });
    await this.verify(dummy, password);
    return false;
  }

  /** True when a stored hash was made with other parameters than the current ones. */
  needsRehash(stored: string): boolean {
    const parsed = parse(stored);
    if (!parsed) return false;
    const { logN, r, p } = parsed.cost;
    return logN !== this.params.logN || r !== this.params.r || p !== this.params.p;
  }

  /** Process ids of the hashing processes now running (tests, operators). */
  processIds(): number[] {
    return this.pool.processIds();
  }

  /** Stops the hashing processes; calls still queued answer UNAVAILABLE. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
