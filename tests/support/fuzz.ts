import fc from 'fast-check';

/**
 * Shared settings of the malformed-input suites. CI runs a fixed seed and a
 * modest number of runs (the same cases every time, so a failure
 * reproduces); a long hunt is
 *
 *   FUZZ_RUNS=5000 FUZZ_SEED=$RANDOM npm test -- fuzz
 *
 * and a failure prints the seed and path to replay it with.
 */
export function fuzzParameters(defaultRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261202;
  const numRuns = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns;
  return { seed, numRuns, endOnFailure: true, includeErrorInReport: true };
}

/** Strings an attacker reaches for: huge, control characters, lookalikes, prototype keys, injection text. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '\u0000',
    '\u202e\u0041dmin',
    'ａｄｍｉｎ@ｅｘａｍｐｌｅ.ｃｏｍ',
    'аdmin@example.com',
    "' or 1=1 --",
    '${jndi:ldap://x}',
    '../../etc/passwd',
    '\ud800',
    'a@b',
    'x@example.com',
  ),
  fc.nat({ max: 200_000 }).map((n) => 'A'.repeat(n)),
  fc.array(fc.integer({ min: 0, max: 0x1f }), { maxLength: 30 }).map((codes) => String.fromCharCode(...codes)),
);

/** Any JSON-ish value, nested, with the nasty strings as keys and leaves. */
export const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 5 }),
    fc.record({ email: nastyString, password: nastyString }, { requiredKeys: [] }),
    fc.record({ token: nastyString, refreshToken: nastyString, userId: nastyString }, { requiredKeys: [] }),
  ),
})).value;

/** A deeply nested value (thousands of levels): parsers must not recurse into a crash. */
export function deeplyNested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}
