import {
  createTRPCClient,
  httpBatchLink,
  type HTTPHeaders,
  type Operation,
  type OperationLink,
  type TRPCClient,
} from '@trpc/client';
import type { AppRouter } from './router-type.js';

/** The typed tRPC client: `client.auth.login.mutate(...)`, `client.auth.me.query()`, ... */
export type AuthClient = TRPCClient<AppRouter>;

/** A `fetch` implementation (the global one by default); wrap it to add logging, retries or test doubles. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Headers sent with every request, or a function computing them per request. */
export type HeadersOption = HTTPHeaders | (() => HTTPHeaders | Promise<HTTPHeaders>);

export interface AuthClientOptions {
  /** The service's base URL, e.g. `https://auth.example.com`; the client adds `/trpc`. */
  url: string;
  /** Extra request headers (never put an access token here: use {@link createSession}). */
  headers?: HeadersOption;
  /** A custom `fetch`; defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /**
   * `fetch`'s credentials mode. `'include'` sends and accepts the service's
   * session cookie from another origin (one of its CORS_ORIGINS); cookie
   * sessions (`createSession({ cookie: true })`) set it for you.
   */
  credentials?: RequestCredentials;
}

/**
 * What a session plugs into a client it owns: a link that wraps every
 * operation, and the headers (the bearer token) of each batch.
 * @internal
 */
export interface SessionHooks {
  link: OperationLink<AppRouter>;
  headers(opList: readonly Operation[]): HTTPHeaders;
}

interface ClientSlot {
  options: AuthClientOptions;
  hooks?: SessionHooks;
}

const slots = new WeakMap<object, ClientSlot>();

/** `${url}/trpc`, tolerating a trailing slash on the base URL. */
export function trpcUrl(url: string): string {
  return `${url.replace(/\/+$/, '')}/trpc`;
}

/**
 * Creates the typed client for a secure-auth service. Calls made in the same
 * tick are batched into one HTTP request.
 *
 * @example
 * ```ts
 * import { createAuthClient } from '@secure-auth/client';
 *
 * const client = createAuthClient({ url: 'https://auth.example.com' });
 * const { status } = await client.health.query();
 * await client.auth.register.mutate({ email: 'ada@example.com', password });
 * ```
 *
 * For authenticated calls use {@link createSession}, which attaches the
 * access token and refreshes it.
 */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  const slot: ClientSlot = { options };
  const baseFetch = options.fetch;
  const credentials = options.credentials;
  const fetchWith: FetchLike | undefined = credentials
    ? (input, init) => (baseFetch ?? globalThis.fetch)(input, { ...init, credentials })
    : baseFetch;
  const client = createTRPCClient<AppRouter>({
    links: [
      // A pass-through until a session takes this client over.
      () => (ctx) => (slot.hooks ? slot.hooks.link(ctx) : ctx.next(ctx.op)),
      httpBatchLink({
        url: trpcUrl(options.url),
        // tRPC calls fetch with a string URL and a RequestInit only.
        ...(fetchWith ? { fetch: fetchWith as Parameters<typeof httpBatchLink>[0]['fetch'] } : {}),
        headers: async ({ opList }) => {
          const base = typeof options.headers === 'function' ? await options.headers() : options.headers;
          return { ...base, ...slot.hooks?.headers(opList) };
        },
      }),
    ],
  });
  slots.set(client, slot);
  return client;
}

/**
 * Hands a client made by {@link createAuthClient} to a session.
 * @internal
 */
export function attachSession(client: AuthClient, hooks: SessionHooks): void {
  const slot = slots.get(client);
  if (!slot) throw new TypeError('createSession: `client` must come from createAuthClient()');
  if (slot.hooks) throw new TypeError('createSession: this client already belongs to a session');
  slot.hooks = hooks;
}
