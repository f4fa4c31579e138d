import type { HTTPHeaders, Operation, OperationLink, OperationResultEnvelope, TRPCClientError } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import type { BrowserTokenPair, MfaChallenge, PasskeyRequestOptions, TokenPair } from '../../shared/dto.js';
import { attachSession, createAuthClient, type AuthClient, type AuthClientOptions } from './auth-client.js';
import { isAuthError } from './errors.js';
import type { LoginInput, RouterInputs } from './router-io.js';
import type { AppRouter } from './router-type.js';

/** Why a session ended (the argument of `onEnd`). */
export type SessionEndReason =
  /** `logout()` or `auth.logout` with this session's refresh token. */
  | 'logout'
  /** `sessions.revokeAll` without `exceptCurrent`, made through this session. */
  | 'revoked'
  /** The service refused the refresh token: the session was revoked, expired, or ended elsewhere. */
  | 'invalid_refresh_token'
  /** The service saw the refresh token used twice and revoked the whole session (possible theft). */
  | 'refresh_token_reused';

/** What a session holds: a full pair, or (cookie sessions) the pair without its refresh token. */
export type SessionTokens = TokenPair | BrowserTokenPair;

interface SessionCallbacks<P extends SessionTokens> {
  /** A token pair to resume (e.g. from storage); without it, call `login()`. */
  tokens?: P | null;
  /**
   * Called with every new token pair (login, refresh, password change) and
   * with `null` when the session ends: the place to persist the pair.
   */
  onChange?: (tokens: P | null) => void;
  /** Called once each time the session ends, with the reason. */
  onEnd?: (reason: SessionEndReason) => void;
}

/** A session that holds the whole pair, refresh token included (servers, native apps). */
export type SessionOptions = (AuthClientOptions | { client: AuthClient }) &
  SessionCallbacks<TokenPair> & { cookie?: false };

/**
 * A browser session: the refresh token lives in the service's httpOnly
 * cookie, so no script on the page (nor an XSS) ever sees it; the session
 * holds only the short-lived access token, in memory. With `url`, requests
 * are made with `credentials: 'include'`; a `client` passed instead must
 * have been created with `credentials: 'include'`.
 */
export type CookieSessionOptions = (AuthClientOptions | { client: AuthClient }) &
  SessionCallbacks<BrowserTokenPair> & { cookie: true };

/** `login()` finished: the session holds its token pair. */
export interface SignedIn<P extends SessionTokens = TokenPair> {
  status: 'signed_in';
  tokens: P;
}

/**
 * `login()` needs a second factor: the password was right, but the session
 * holds no token until one of these methods answers the challenge (within
 * `expiresIn` seconds; a few wrong answers end it, and count toward the
 * account's lockout).
 */
export interface MfaRequired<P extends SessionTokens = TokenPair> {
  status: 'mfa_required';
  methods: MfaChallenge['methods'];
  expiresIn: number;
  /** Answers with a 6-digit code from the authenticator app, or a recovery code. */
  verifyCode(code: string): Promise<SignedIn<P>>;
  /** The assertion options for `navigator.credentials.get()` (or `@secure-auth/client/browser`). */
  passkeyOptions(): Promise<PasskeyRequestOptions>;
  /** Answers with the browser's passkey assertion (WebAuthn JSON) for `passkeyOptions()`. */
  verifyPasskey(response: PasskeyAssertion): Promise<SignedIn<P>>;
}

/** A passkey assertion as `@simplewebauthn/browser`'s `startAuthentication` returns it. */
export type PasskeyAssertion = RouterInputs['auth']['passkey']['login']['response'];

export type LoginResult<P extends SessionTokens = TokenPair> = SignedIn<P> | MfaRequired<P>;

/** A logged-in (or not yet logged-in) user's session. */
export interface Session<P extends SessionTokens = TokenPair> {
  /** The typed client; calls carry this session's access token. */
  readonly client: AuthClient;
  /**
   * Logs in. Resolves `signed_in` (the pair is kept) or, for an account with
   * a second factor, `mfa_required` with the ways to finish. Throws the
   * service's error (see `isAuthError`).
   */
  login(input: LoginInput): Promise<LoginResult<P>>;
  /** Ends the session on the service and locally; local state is cleared even if the request fails. */
  logout(): Promise<void>;
  /** The current token pair, or `null` when logged out. */
  tokens(): P | null;
  /** Replaces the pair, e.g. with one another browser tab stored; `null` clears it without calling `onEnd`. */
  setTokens(tokens: P | null): void;
  /**
   * Refreshes now (shares an in-flight refresh); resolves to the new pair.
   * In a cookie session this also resumes a session after a page load:
   * the cookie is presented even when the session holds no tokens yet.
   */
  refresh(): Promise<P>;
}

// Operation context keys. INTERNAL marks the session's own refresh call;
// SENT records which access token a request actually carried.
const INTERNAL = 'secureAuthInternal';
const SENT = 'secureAuthSent';
interface SentToken {
  token?: string;
}

/** Procedures whose result is a new token pair for this session. */
const ADOPTS_PAIR = new Set([
  'auth.login',
  'auth.changePassword',
  'auth.refresh',
  'auth.mfa.verify',
  'auth.mfa.passkeyVerify',
  'auth.passkey.login',
]);
/** Of those, the ones that take `cookie: true` (a cookie session adds it to their input). */
const ISSUES_PAIR = new Set([...ADOPTS_PAIR].filter((path) => path !== 'auth.refresh'));

type AnyOptions = SessionOptions | CookieSessionOptions;

function report(err: unknown): void {
  // A throwing callback must not corrupt the session; surface it like an
  // event listener's exception instead.
  queueMicrotask(() => {
    throw err;
  });
}

class SessionState {
  private pair: SessionTokens | null;
  /** Bumped on every change, so a refresh that raced a login/logout is discarded. */
  private epoch = 0;
  private refreshing: Promise<SessionTokens> | null = null;
  readonly cookie: boolean;

  constructor(
    readonly client: AuthClient,
    private readonly opts: AnyOptions,
  ) {
    this.pair = opts.tokens ?? null;
    this.cookie = opts.cookie === true;
  }

  tokens(): SessionTokens | null {
    return this.pair;
  }

  set(pair: SessionTokens | null): void {
    this.pair = pair;
    this.epoch++;
    this.notify(() => (this.opts.onChange as ((p: SessionTokens | null) => void) | undefined)?.(pair));
  }

  end(reason: SessionEndReason): void {
    if (!this.pair) return; // already ended: onEnd fires once per session
    this.set(null);
    this.notify(() => this.opts.onEnd?.(reason));
  }

  private notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      report(err);
    }
  }

  refresh(): Promise<SessionTokens> {
    // One refresh at a time: a second one would present a refresh token that
    // was just rotated, which the service may treat as theft.
    if (this.refreshing) return this.refreshing;
    const current = this.pair;
    // A cookie session can always try: the cookie may hold a session from before a page load.
    const refreshToken = this.cookie ? undefined : current?.refreshToken;
    if (!this.cookie && !refreshToken) return Promise.reject(new Error('secure-auth session: not logged in'));
    const epoch = this.epoch;
    const run = async (): Promise<SessionTokens> => {
      try {
        const next = await this.client.auth.refresh.mutate(refreshToken ? { refreshToken } : {}, {
          context: { [INTERNAL]: true },
        });
        if (this.epoch !== epoch) {
          // Logged out or in again meanwhile: do not resurrect the old session
          // (a cookie session's cookie already belongs to the newer one).
          if (next.refreshToken) {
            void this.client.auth.logout
              .mutate({ refreshToken: next.refreshToken }, { context: { [INTERNAL]: true } })
              .catch(() => {});
          }
          throw new Error('secure-auth session: changed during refresh');
        }
        this.set(next);
        return next;
      } catch (err) {
        if (this.epoch === epoch) {
          if (isAuthError(err, 'REFRESH_TOKEN_REUSED')) this.end('refresh_token_reused');
          else if (isAuthError(err, 'INVALID_REFRESH_TOKEN')) this.end('invalid_refresh_token');
        }
        throw err;
      } finally {
        this.refreshing = null;
      }
    };
    this.refreshing = run();
    return this.refreshing;
  }

  /**
   * After a call carrying `sentToken` got UNAUTHENTICATED: resolves true when
   * the call should be retried (once) with a fresh token, false when not;
   * rejects with a refresh failure worth showing (network, rate limit).
   */
  async recover(sentToken: string): Promise<boolean> {
    if (this.refreshing) {
      await this.refreshing.catch(() => undefined);
      return this.pair !== null && this.pair.accessToken !== sentToken;
    }
    if (!this.pair) return false;
    // Another call already refreshed after this one was sent.
    if (this.pair.accessToken !== sentToken) return true;
    try {
      await this.refresh();
      return true;
    } catch (err) {
      if (!this.pair) return false; // the session ended: the caller gets its own UNAUTHENTICATED
      throw err;
    }
  }

  /** Follows results that change the session: new pairs, logout, revoke-all. */
  observe(op: Operation, env: OperationResultEnvelope<unknown, TRPCClientError<AppRouter>>): void {
    const data = (env.result as { data?: unknown }).data;
    if (ADOPTS_PAIR.has(op.path) && isTokenPair(data)) {
      this.set(data);
    } else if (op.path === 'auth.logout') {
      const input = op.input as { refreshToken?: string } | undefined;
      // A logout without a token ends the cookie's session, which is this one.
      const ours = this.cookie ? !input?.refreshToken : input?.refreshToken === this.pair?.refreshToken;
      if (this.pair && ours) this.end('logout');
    } else if (op.path === 'sessions.revokeAll') {
      const input = op.input as { exceptCurrent?: boolean } | undefined;
      if (!input?.exceptCurrent) this.end('revoked');
    }
  }

  headers(opList: readonly Operation[]): HTTPHeaders {
    const token = this.pair?.accessToken;
    for (const op of opList) {
      const sent = op.context[SENT] as SentToken | undefined;
      if (sent) sent.token = token;
    }
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  readonly link: OperationLink<AppRouter> = ({ op: original, next }) => {
    if (original.context[INTERNAL]) return next(original);
    // A cookie session asks every pair-issuing call to put the refresh token in the cookie.
    const op =
      this.cookie && ISSUES_PAIR.has(original.path) && typeof original.input === 'object' && original.input !== null
        ? { ...original, input: { ...original.input, cookie: true } }
        : original;
    return observable((observer) => {
      let closed = false;
      let retried = false;
      let sub: { unsubscribe(): void } | undefined;
      const attempt = (): void => {
        const sent: SentToken = {};
        sub = next({ ...op, context: { ...op.context, [SENT]: sent } }).subscribe({
          next: (env) => {
            this.observe(op, env);
            observer.next(env);
          },
          error: (err) => {
            // Retry once, and only calls that carried a token: UNAUTHENTICATED
            // is raised before any procedure runs, so even a mutation is safe
            // to repeat, and a call without a token can never loop.
            if (closed || retried || sent.token === undefined || !isAuthError(err, 'UNAUTHENTICATED')) {
              observer.error(err);
              return;
            }
            retried = true;
            this.recover(sent.token).then(
              (retry) => {
                if (closed) return;
                if (retry) attempt();
                else observer.error(err);
              },
              (refreshErr: TRPCClientError<AppRouter>) => {
                if (!closed) observer.error(refreshErr);
              },
            );
          },
          complete: () => observer.complete(),
        });
      };
      attempt();
      return () => {
        closed = true;
        sub?.unsubscribe();
      };
    });
  };
}

function isTokenPair(value: unknown): value is SessionTokens {
  const v = value as Partial<TokenPair> | null | undefined;
  return typeof v?.accessToken === 'string' && (typeof v.refreshToken === 'string' || v.refreshToken === undefined);
}

/**
 * Creates a session: it holds a token pair, attaches the access token to
 * every call, and when the service answers `UNAUTHENTICATED` refreshes once
 * and retries. Concurrent calls share one in-flight refresh. A refresh
 * refused with `REFRESH_TOKEN_REUSED` or `INVALID_REFRESH_TOKEN` ends the
 * session (`onEnd`); nothing is retried after that. Runs in browsers and Node.
 *
 * In a browser, use `cookie: true`: the refresh token stays in the
 * service's httpOnly cookie and the app never sees it.
 *
 * @example
 * ```ts
 * import { createSession, isAuthError } from '@secure-auth/client';
 *
 * const session = createSession({
 *   url: 'https://auth.example.com',
 *   cookie: true,
 *   onEnd: (reason) => router.navigate('/login', { state: { reason } }),
 * });
 *
 * // After a page load: resume the session the cookie holds, if any.
 * await session.refresh().catch(() => undefined);
 * if (!session.tokens()) {
 *   const result = await session.login({ email, password });
 *   if (result.status === 'mfa_required') await result.verifyCode(await askUserForCode());
 * }
 * const me = await session.client.auth.me.query();
 * const devices = await session.client.sessions.list.query();
 * await session.logout();
 * ```
 */
export function createSession(options: CookieSessionOptions): Session<BrowserTokenPair>;
export function createSession(options: SessionOptions): Session<TokenPair>;
export function createSession(options: AnyOptions): Session<SessionTokens> {
  const cookie = options.cookie === true;
  const client =
    'client' in options ? options.client : createAuthClient(cookie ? { ...options, credentials: 'include' } : options);
  const state = new SessionState(client, options);
  attachSession(client, { link: state.link, headers: (opList) => state.headers(opList) });
  return {
    client,
    // In a cookie session the link adds `cookie: true` to these calls.
    async login(input): Promise<LoginResult<SessionTokens>> {
      const result = await client.auth.login.mutate(input);
      // The pair itself was adopted by the link as the answer went by.
      if (!('mfaRequired' in result)) return { status: 'signed_in', tokens: result };
      const { mfaToken, methods, expiresIn } = result;
      return {
        status: 'mfa_required',
        methods,
        expiresIn,
        verifyCode: async (code) => ({
          status: 'signed_in',
          tokens: await client.auth.mfa.verify.mutate({ mfaToken, code }),
        }),
        passkeyOptions: () => client.auth.mfa.passkeyOptions.mutate({ mfaToken }),
        verifyPasskey: async (response) => ({
          status: 'signed_in',
          tokens: await client.auth.mfa.passkeyVerify.mutate({ mfaToken, response }),
        }),
      };
    },
    async logout() {
      const current = state.tokens();
      if (!current) return;
      try {
        await client.auth.logout.mutate(cookie ? {} : { refreshToken: current.refreshToken });
      } finally {
        // Also when the request failed: the user asked to be logged out here.
        if (state.tokens() === current) state.end('logout');
      }
    },
    tokens: () => state.tokens(),
    setTokens: (tokens) => state.set(tokens),
    refresh: () => state.refresh(),
  };
}
