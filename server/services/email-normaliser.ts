import { emailSchema } from '../../shared/schemas.js';

/** Emails are trimmed, NFKC-normalised, lower-cased before any lookup or storage. */
export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

// Characters that mail software reads as address-list syntax rather than as
// part of one address: "x<victim@example.com>" or "x,victim@example.com" would
// be stored as one account but delivered to victim@example.com, so the inbox
// that verifies (or resets) an account would not be the address it shows.
// Also refused: control and format characters (invisible look-alikes).
const ADDRESS_SYNTAX = /[<>(),;:"[\\\]\p{Cc}\p{Cf}]/u;

/**
 * Whether a *normalised* email is still one plain address we can store.
 * Input is validated before normalisation, and NFKC can change its shape:
 * "㎞" becomes "km" (past the 254-character column), "﹫" becomes a second
 * "@", "ﷺ" gains spaces. Such input must be refused as invalid, not reach
 * the database (a 500) or the mailer (a different recipient).
 */
export function isStorableEmail(normalised: string): boolean {
  const parsed = emailSchema.safeParse(normalised);
  return parsed.success && parsed.data === normalised && !ADDRESS_SYNTAX.test(normalised);
}
