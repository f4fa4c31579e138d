import type { MfaFactorRepository } from '../db/repositories/mfa-factor.repository.js';
import type { RecoveryCodeRepository } from '../db/repositories/recovery-code.repository.js';
import type { Sql } from '../db/sql.js';
import { openWithAny, seal } from '../email/sealed-payload.js';
import type { Clock } from '../security/clock.js';
import type { Keyring } from '../security/keyring.js';
import { newRecoveryCodes, normaliseRecoveryCode } from '../security/recovery-code.js';
import { matchTotp } from '../security/totp.js';

/** How a code answered: a TOTP code (`otp`) or a recovery code (`kba`, RFC 8176's knowledge-based). */
export type CodeMethod = 'otp' | 'kba';

/**
 * Checks and uses up a typed second-factor answer of one account: a 6-digit
 * TOTP code of a confirmed authenticator, or one of its recovery codes. Using
 * is atomic (a compare-and-set on the TOTP step, a conditional update of the
 * recovery code), so a replayed or parallel answer is refused. Run it in the
 * transaction that acts on the answer: a rollback gives the answer back.
 */
export class SecondFactorCheck {
  constructor(
    private readonly d: {
      clock: Clock;
      keyring: Keyring;
      factors: MfaFactorRepository;
      recoveryCodes: RecoveryCodeRepository;
    },
  ) {}

  async use(tx: Sql, userId: string, rawCode: string): Promise<CodeMethod | null> {
    const now = this.d.clock.now();
    const code = rawCode.replace(/\s/g, '');
    if (/^\d{6}$/.test(code)) {
      for (const factor of await this.d.factors.listConfirmed(tx, userId)) {
        if (factor.kind !== 'totp' || !factor.secret) continue;
        const secret = this.openSecret(factor.secret);
        const step = secret ? matchTotp(secret, code, now) : null;
        if (step !== null && (await this.d.factors.claimStep(tx, factor.id, step, now))) return 'otp';
      }
      return null;
    }
    const canonical = normaliseRecoveryCode(code);
    if (!canonical) return null;
    const used = await this.d.recoveryCodes.consume(tx, userId, this.recoveryDigests(userId, canonical), now);
    return used ? 'kba' : null;
  }

  /** New recovery codes for the account, replacing the old ones; the plaintext is returned once and never stored. */
  async replaceRecoveryCodes(tx: Sql, userId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    const digests = codes.map((c) => this.recoveryDigests(userId, normaliseRecoveryCode(c)!)[0]!);
    await this.d.recoveryCodes.replace(tx, userId, digests);
    return codes;
  }

  sealSecret(base32: string): string {
    return seal(this.d.keyring.mfaSecretKeys[0]!, base32);
  }

  openSecret(sealed: string): string | undefined {
    return openWithAny(this.d.keyring.mfaSecretKeys, sealed);
  }

  // Bound to the account: a code of another account is no code at all here.
  private recoveryDigests(userId: string, canonical: string): string[] {
    return this.d.keyring.mfaDigests('recovery-code', `${userId}:${canonical}`);
  }
}
