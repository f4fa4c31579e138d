/**
 * Secrets the suites used, for the end-of-run scan of everything the
 * services logged (tests/protection/zz-secret-scan.test.ts).
 *
 * Suites may register what they use with `rememberSecret(...)`. Importing
 * this module also records, without any suite's help, every secret that
 * crosses the wire in this process: passwords and tokens in request bodies,
 * bearer tokens in Authorization headers, token pairs in responses (through
 * a transparent wrapper around global `fetch`, which tests/support/http.ts
 * and the tRPC client use), and the email/reset tokens of every captured
 * mail. The runner imports every suite before it runs any, so the wrapper is
 * in place before the first request.
 */
import { testGlobals } from './globals.js';

const secrets = new Set<string>();

/**
 * Remembers values that must never appear in any log line. Short or
 * low-variety values (a suite's `'x'.repeat(64)` junk token) are ignored:
 * they are no secret and would match unrelated text.
 */
export function rememberSecret(...values: Array<string | undefined | null>): void {
  for (const v of values) if (typeof v === 'string' && v.length >= 12 && new Set(v).size >= 8) secrets.add(v);
}

/** Every secret remembered so far, plus the tokens of every mail captured so far. */
export function knownSecrets(): Set<string> {
  const all = new Set(secrets);
  for (const mail of testGlobals().smtp.messages) {
    for (const m of mail.text.matchAll(/[?&]token=([A-Za-z0-9_-]{16,})/g)) all.add(m[1]!);
  }
  return all;
}

const SECRET_FIELDS = new Set(['password', 'newPassword', 'currentPassword', 'token', 'refreshToken', 'accessToken']);

/** Walks a JSON value and remembers every string under a secret-bearing key. */
function harvest(value: unknown, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' && SECRET_FIELDS.has(key)) rememberSecret(v);
    else harvest(v, depth + 1);
  }
}

function harvestText(text: string): void {
  try {
    harvest(JSON.parse(text));
  } catch {
    /* not JSON */
  }
}

function harvestHeaders(headers: HeadersInit | undefined): void {
  if (!headers) return;
  const auth = new Headers(headers).get('authorization');
  const bearer = auth ? /^Bearer (.+)$/i.exec(auth)?.[1] : undefined;
  rememberSecret(bearer);
}

const WRAPPED = Symbol.for('secure-auth.tests.fetch-harvester');
if (!(globalThis.fetch as unknown as Record<symbol, boolean>)[WRAPPED]) {
  const realFetch = globalThis.fetch;
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    try {
      harvestHeaders(init?.headers);
      if (typeof init?.body === 'string') harvestText(init.body);
      if (input instanceof Request) harvestHeaders(input.headers);
    } catch {
      /* harvesting must never break a request */
    }
    const res = await realFetch(input, init);
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      // A clone, read in the background: the caller's body stays untouched.
      res
        .clone()
        .text()
        .then(harvestText, () => undefined);
    }
    return res;
  };
  (wrapped as unknown as Record<symbol, boolean>)[WRAPPED] = true;
  globalThis.fetch = wrapped as typeof fetch;
}

/**
 * Queues a suite to run after every other suite of the run (uvu runs its
 * queue in order, and reads it live): at its turn in file order it appends
 * itself as a new, last group. Outside the runner it just runs.
 */
export function runAfterAllSuites(s: { run(): void }, label: string): void {
  const g = globalThis as { UVU_QUEUE?: unknown[][]; UVU_INDEX?: number };
  const queue = g.UVU_QUEUE;
  const slot = queue?.[g.UVU_INDEX ?? 0];
  if (!queue || !slot) {
    s.run();
    return;
  }
  slot.push(async () => {
    queue.push([label]);
    const previous = g.UVU_INDEX;
    g.UVU_INDEX = queue.length - 1;
    s.run();
    g.UVU_INDEX = previous;
    // uvu's runner result: [errors || true, passed, skipped, total].
    return [true, 0, 0, 0];
  });
}

/** Shapes that are a secret wherever they appear, whoever used them. */
export const SECRET_PATTERNS: ReadonlyArray<[string, RegExp]> = [
  ['a PASETO access token', /v4\.(public|local)\.[A-Za-z0-9_-]{20,}/],
  [
    'a password, token or hash field with a value',
    /"(password|newPassword|currentPassword|hashed_password|hashedPassword|refreshToken|accessToken|token|token_hash)":"(?!\[redacted\]")/,
  ],
  ['a scrypt hash (base64 of "scrypt...")', /c2NyeXB0[A-Za-z0-9+/]{40,}/],
  ['a link carrying an email or reset token', /[?&]token=[A-Za-z0-9_-]{16,}/],
];

/**
 * The development outbox logs each link at debug level by design
 * (section 7: `npm start` without a mail server); it never runs at the
 * suites' LOG_LEVEL=info, and is the one exemption.
 */
function exempt(line: string): boolean {
  return line.includes('"msg":"mail written to outbox"') && line.includes('"level":"debug"');
}

export interface Leak {
  what: string;
  /** The offending value, shortened so the report itself leaks nothing usable. */
  sample: string;
  line: string;
}

const shorten = (v: string) => `${v.slice(0, 6)}…(${v.length} chars)`;

/** Every known secret and every secret-shaped value found in `lines`. */
export function findLeaks(lines: readonly string[], known: ReadonlySet<string>): Leak[] {
  const leaks: Leak[] = [];
  const scanned = lines.filter((l) => !exempt(l));
  // One string and indexOf per secret: fast enough for a whole run's log.
  const corpus = scanned.join('\n');
  for (const secret of known) {
    const at = corpus.indexOf(secret);
    if (at < 0) continue;
    const start = corpus.lastIndexOf('\n', at) + 1;
    const end = corpus.indexOf('\n', at);
    const line = corpus.slice(start, end < 0 ? undefined : end);
    leaks.push({
      what: 'a secret a suite used',
      sample: shorten(secret),
      line: line.split(secret).join(shorten(secret)).slice(0, 300),
    });
  }
  for (const line of scanned) {
    for (const [what, pattern] of SECRET_PATTERNS) {
      const m = pattern.exec(line);
      if (m) leaks.push({ what, sample: shorten(m[0]), line: line.replace(m[0], shorten(m[0])).slice(0, 300) });
    }
  }
  return leaks;
}
