/** Seeding over the public API, as a client would: no shortcuts into the database. */

export interface TokenPairLite {
  accessToken: string;
  refreshToken: string;
}

export interface BenchUser {
  email: string;
  password: string;
}

async function call(url: string, procedure: string, input: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/trpc/${procedure}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body };
}

/** Runs `tasks` with at most `limit` in flight. */
export async function inParallel<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  return out;
}

export async function registerUser(url: string, user: BenchUser): Promise<void> {
  const r = await call(url, 'auth.register', { email: user.email, password: user.password, fullName: 'Bench User' });
  if (r.status !== 200)
    throw new Error(`seeding: auth.register answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
}

export async function login(url: string, user: BenchUser): Promise<TokenPairLite> {
  const r = await call(url, 'auth.login', { email: user.email, password: user.password });
  if (r.status !== 200)
    throw new Error(`seeding: auth.login answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
  return pairFrom(r.body);
}

/** The token pair out of a tRPC success body (`{"result":{"data":TokenPair}}`), or undefined. */
export function pairFrom(body: unknown): TokenPairLite {
  const data = (body as { result?: { data?: { accessToken?: unknown; refreshToken?: unknown } } })?.result?.data;
  if (typeof data?.accessToken !== 'string' || typeof data.refreshToken !== 'string') {
    throw new Error('response carries no token pair');
  }
  return { accessToken: data.accessToken, refreshToken: data.refreshToken };
}
