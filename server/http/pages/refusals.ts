import type { WeakPasswordReason } from '../../../shared/app-codes.js';
import { AppError } from '../../errors.js';

/**
 * What a person is told when a page action is refused: each reason in plain
 * words, never an error code or anything internal.
 */

export const LINK_NO_LONGER_VALID =
  'This link is no longer valid. It may have been used already, replaced by a newer one, or expired.';

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

function minutes(seconds: number): string {
  const m = Math.ceil(seconds / 60);
  return m <= 1 ? 'a minute' : `${m} minutes`;
}

/** The words for a refusal the pages expect; undefined for anything else (a real fault). */
export function refusalMessage(err: unknown, minLength: number): { status: number; message: string } | undefined {
  if (!(err instanceof AppError)) return undefined;
  switch (err.code) {
    case 'INVALID_TOKEN':
    case 'INVALID_INPUT':
      return { status: 400, message: LINK_NO_LONGER_VALID };
    case 'WEAK_PASSWORD':
      return { status: 400, message: weakPasswordMessage(err.reason, minLength) };
    case 'RATE_LIMITED':
      return { status: 429, message: `Too many attempts from your network. Try again in ${minutes(err.retryAfter ?? 60)}.` };
    case 'UNAVAILABLE':
      return { status: 503, message: 'The service is busy right now. Try again in a moment.' };
    default:
      return undefined;
  }
}
