/**
 * @secure-auth/client/browser: passkeys in a web app, one call each. Wraps
 * `@simplewebauthn/browser` (the browser's WebAuthn API with JSON in and
 * out) around the service's passkey procedures.
 *
 * @example
 * ```ts
 * import { createSession } from '@secure-auth/client';
 * import { registerPasskey, signInWithPasskey, verifyWithPasskey } from '@secure-auth/client/browser';
 *
 * const session = createSession({ url: 'https://auth.example.com' });
 * await signInWithPasskey(session);                        // passwordless
 * const result = await session.login({ email, password });
 * if (result.status === 'mfa_required') await verifyWithPasskey(result); // passkey as second factor
 * await registerPasskey(session.client, { currentPassword }); // add one (re-auth needed)
 * ```
 *
 * @packageDocumentation
 */
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import type { AuthClient } from './auth-client.js';
import type { RouterInputs, RouterOutputs } from './router-io.js';
import type { MfaRequired, PasskeyAssertion, Session, SessionTokens, SignedIn } from './session.js';

export { browserSupportsWebAuthn };

type RegisterProof = RouterInputs['mfa']['passkey']['registerOptions'];

/**
 * Registers a passkey on this device for the signed-in account. Needs
 * re-auth (`currentPassword`, or a current `code` when a second factor is
 * on). Resolves with the new factor and, for the account's first factor,
 * its recovery codes (show them once).
 */
export async function registerPasskey(
  client: AuthClient,
  proof: RegisterProof & { name?: string },
): Promise<RouterOutputs['mfa']['passkey']['register']> {
  const { name, ...reauth } = proof;
  const options = await client.mfa.passkey.registerOptions.mutate(reauth);
  const response = await startRegistration({ optionsJSON: options as PublicKeyCredentialCreationOptionsJSON });
  return client.mfa.passkey.register.mutate({
    response: response as RouterInputs['mfa']['passkey']['register']['response'],
    name,
  });
}

/** Finishes a login that asked for a second factor with a passkey of this device. */
export async function verifyWithPasskey<P extends SessionTokens>(challenge: MfaRequired<P>): Promise<SignedIn<P>> {
  const options = await challenge.passkeyOptions();
  const response = await startAuthentication({ optionsJSON: options as PublicKeyCredentialRequestOptionsJSON });
  return challenge.verifyPasskey(response as PasskeyAssertion);
}

/** Passwordless sign-in: the browser offers the passkeys it holds for this service; the session keeps the pair. */
export async function signInWithPasskey<P extends SessionTokens>(session: Session<P>): Promise<SignedIn<P>> {
  const { challengeId, options } = await session.client.auth.passkey.loginOptions.mutate();
  const response = await startAuthentication({ optionsJSON: options as PublicKeyCredentialRequestOptionsJSON });
  const tokens = await session.client.auth.passkey.login.mutate({
    challengeId,
    response: response as PasskeyAssertion,
  });
  // In a cookie session the link added `cookie: true`: the pair has no refresh token.
  return { status: 'signed_in', tokens: tokens as P };
}
