/**
 * @secure-auth/client: the typed client of a secure-auth service.
 *
 * - {@link createAuthClient}: the tRPC client (`client.auth.login.mutate(...)`).
 * - {@link createSession}: keeps a token pair, attaches and refreshes it
 *   (`cookie: true` in browsers: the refresh token stays in an httpOnly cookie).
 * - {@link createTokenVerifier}: verifies access tokens offline in other services.
 * - {@link isAuthError} and {@link AppCode}: the service's stable error codes.
 *
 * @packageDocumentation
 */
import type { AppRouter } from './router-type.js';

export {
  createAuthClient,
  type AuthClient,
  type AuthClientOptions,
  type FetchLike,
  type HeadersOption,
} from './auth-client.js';
export {
  createSession,
  type CookieSessionOptions,
  type LoginResult,
  type MfaRequired,
  type PasskeyAssertion,
  type Session,
  type SessionEndReason,
  type SessionOptions,
  type SessionTokens,
  type SignedIn,
} from './session.js';
export {
  createTokenVerifier,
  type PasetoPublicKey,
  type RemoteKeysOptions,
  type StaticKeysOptions,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './verifier.js';
export {
  AppCode,
  isAuthError,
  TokenVerificationError,
  type AuthError,
  type AuthErrorData,
  type TokenVerificationReason,
} from './errors.js';
export type { WeakPasswordReason } from '../../shared/app-codes.js';
export type {
  AccessClaims,
  AdminUser,
  AuthMethod,
  BrowserTokenPair,
  MfaChallenge,
  MfaFactorInfo,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
  PagedResult,
  PublicUser,
  SecurityEventItem,
  SessionInfo,
  TokenPair,
} from '../../shared/dto.js';
export type { AppRouter };
export type { LoginInput, RouterInputs, RouterOutputs } from './router-io.js';
