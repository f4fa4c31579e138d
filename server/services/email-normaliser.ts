/** SPEC 6: trimmed, NFKC-normalised, lower-cased before any lookup or storage. */
export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}
