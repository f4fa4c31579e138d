import { AppError } from '../../errors.js';
import { waitInWords, weakPasswordMessage } from './password-words.js';

/**
 * What a person is told when a page action is refused: each reason in plain
 * words, never an error code or anything internal.
 */

export const LINK_NO_LONGER_VALID =
  'This link is no longer valid. It may have been used already, replaced by a newer one, or expired.';

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
      return {
        status: 429,
        message: `Too many attempts from your network. Try again in ${waitInWords(err.retryAfter ?? 60)}.`,
      };
    case 'UNAVAILABLE':
      return { status: 503, message: 'The service is busy right now. Try again in a moment.' };
    default:
      return undefined;
  }
}
