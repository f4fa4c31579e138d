import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import type { WeakPasswordReason } from '../../shared/app-codes.js';

export const MAX_PASSWORD_LENGTH = 256;
const SERVICE_NAME = 'secure-auth';
const MIN_SCORE = 3;

/**
 * NIST SP 800-63B-4 style: length, not composition; refuse guessable
 * passwords and ones built from the account's own email or our name.
 * Returns null when acceptable, else the reason (the service picks the error).
 */
export class PasswordPolicy {
  private zxcvbnInstance?: ZxcvbnFactory;

  constructor(private readonly minLength: number) {}

  /**
   * The dictionaries take ~65 MiB once loaded and ranked, and only calls that
   * set a password need them: loaded on the first check (a one-off pause of a
   * few hundred ms), so a process that only checks tokens never pays for them.
   */
  private get zxcvbn(): ZxcvbnFactory {
    if (!this.zxcvbnInstance) {
      const require = createRequire(import.meta.url);
      const { ZxcvbnFactory: Factory } = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
      const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
      const en = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
      this.zxcvbnInstance = new Factory({
        dictionary: { ...common.dictionary, ...en.dictionary },
        graphs: common.adjacencyGraphs,
        translations: en.translations,
        // The default (100) explores l33t variants combinatorially: 150-340 ms of
        // event-loop CPU per check, which stalls every other request during a
        // sign-up storm. 10 costs ~22 ms and scores the weak cases the same.
        l33tMaxSubstitutions: 10,
      });
    }
    return this.zxcvbnInstance;
  }

  check(password: string, email: string): WeakPasswordReason | null {
    const pw = password.normalize('NFKC');
    // Count code points, not UTF-16 units: an emoji is one character to the user.
    const length = [...pw].length;
    if (length < this.minLength) return 'too_short';
    if (length > MAX_PASSWORD_LENGTH) return 'too_long';
    const lower = pw.toLowerCase();
    const local = email.split('@')[0]?.toLowerCase() ?? '';
    if (local.length >= 3 && lower.includes(local)) return 'contains_email';
    if (lower.includes(SERVICE_NAME)) return 'contains_service_name';
    // zxcvbn's cost grows with length; the first 100 characters decide.
    const result = this.zxcvbn.check(pw.slice(0, 100), [local, SERVICE_NAME, 'secure', 'auth']);
    if (result.score < MIN_SCORE) return 'too_guessable';
    return null;
  }
}
