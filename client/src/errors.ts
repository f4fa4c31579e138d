import { TRPCClientError } from '@trpc/client';
import type { inferRouterError } from '@trpc/server';
import { AppCode } from '../../shared/app-codes.js';
import type { AppRouter } from './router-type.js';

export { AppCode };

/** `error.data` of every service error: tRPC's `code` and `httpStatus`, plus the stable `appCode`. */
export type AuthErrorData = inferRouterError<AppRouter>['data'];

/**
 * An error the service answered with, narrowed to a known `appCode`.
 * `data.retryAfter` (seconds) is set for `ACCOUNT_LOCKED` and `RATE_LIMITED`,
 * `data.reason` for `WEAK_PASSWORD`.
 */
export type AuthError<C extends AppCode = AppCode> = TRPCClientError<AppRouter> & {
  readonly data: AuthErrorData & { readonly appCode: C };
};

const APP_CODES: ReadonlySet<string> = new Set(Object.values(AppCode));

/**
 * Whether `err` is an error answered by the secure-auth service (optionally
 * with a given `appCode`). Network failures and programming errors are not.
 *
 * @example
 * ```ts
 * try {
 *   await client.auth.login.mutate({ email, password });
 * } catch (err) {
 *   if (isAuthError(err, AppCode.ACCOUNT_LOCKED)) {
 *     showMessage(`Locked, try again in ${err.data.retryAfter} s`);
 *   } else if (isAuthError(err, 'INVALID_CREDENTIALS')) {
 *     showMessage('Wrong email or password');
 *   } else throw err;
 * }
 * ```
 */
export function isAuthError<C extends AppCode = AppCode>(err: unknown, appCode?: C): err is AuthError<C> {
  // instanceof, or the name when two copies of @trpc/client are loaded.
  if (!(err instanceof TRPCClientError) && !(err instanceof Error && err.name === 'TRPCClientError')) return false;
  const code = (err as { data?: { appCode?: unknown } | null }).data?.appCode;
  if (typeof code !== 'string' || !APP_CODES.has(code)) return false;
  return appCode === undefined || code === appCode;
}

/** Why {@link TokenVerifier.verify} refused a token. */
export type TokenVerificationReason =
  | 'malformed'
  | 'unknown_key'
  | 'invalid_signature'
  | 'invalid_claims'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'keys_unavailable';

/**
 * Thrown by {@link TokenVerifier.verify}. Every reason means "not
 * authenticated"; `reason` is for logs and metrics, not for the caller's
 * response (telling an attacker which check failed helps them).
 *
 * @example
 * ```ts
 * try {
 *   const claims = await verifier.verify(token);
 * } catch (err) {
 *   if (err instanceof TokenVerificationError) return res.status(401).end();
 *   throw err;
 * }
 * ```
 */
export class TokenVerificationError extends Error {
  /** Always `UNAUTHENTICATED`, as the service itself would answer. */
  readonly appCode = 'UNAUTHENTICATED' as const;

  constructor(
    readonly reason: TokenVerificationReason,
    options?: { cause?: unknown },
  ) {
    super(`access token refused: ${reason}`, options);
    this.name = 'TokenVerificationError';
  }
}
