/**
 * The query text a database span may carry. MikroORM sends statements with
 * their values inlined as literals (`where email = 'jane@example.com'`,
 * `values (..., 'c2NyeXB0...')`), and a tracing backend is no place for
 * emails, password hashes or token digests: every literal becomes `'?'`,
 * keeping the statement's shape, which is what a trace needs.
 */
const DOLLAR_QUOTED = /\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g;
// '...' with '' escapes; E'...' also with backslash escapes. Treating a
// backslash as an escape everywhere can only redact more, never less.
const QUOTED = /(?:\b[EeBbXxUu]&?)?'(?:[^'\\]|''|\\[\s\S])*'/g;
// A quote left after the literals are gone opens an unterminated one (a
// truncated statement): redact to the end.
const UNTERMINATED = /'[\s\S]*$/;

const MARK = '\u0000';

export function sanitizeSql(text: string): string {
  return text.replace(DOLLAR_QUOTED, MARK).replace(QUOTED, MARK).replace(UNTERMINATED, MARK).replaceAll(MARK, "'?'");
}
