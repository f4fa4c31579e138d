import type { WeakPasswordReason } from '../../../shared/app-codes.js';

/**
 * Why a new password was refused, in words. Browser-safe (the account
 * page's script uses it too), so both say the same thing.
 */
export function weakPasswordMessage(reason: WeakPasswordReason | undefined, minLength: number): string {
  switch (reason) {
    case 'too_short':
      return `That password is too short: use at least ${minLength} characters.`;
    case 'too_long':
      return 'That password is too long: use at most 256 characters.';
    case 'contains_email':
      return 'That password contains the part of your email address before the @. Choose one without it.';
    case 'contains_service_name':
      return 'That password contains the name of this service. Choose one without it.';
    case 'too_guessable':
    default:
      return 'That password is too easy to guess. Try a few unrelated words, or a longer phrase.';
  }
}

/** "a minute" / "N minutes", for retry-after waits. */
export function waitInWords(seconds: number): string {
  const m = Math.ceil(seconds / 60);
  return m <= 1 ? 'a minute' : `${m} minutes`;
}
