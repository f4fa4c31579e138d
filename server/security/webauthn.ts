import { randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeClientDataJSON, isoBase64URL, parseAuthenticatorData } from '@simplewebauthn/server/helpers';

/**
 * Passkeys (WebAuthn): the only importer of @simplewebauthn/server. The
 * library checks the ceremony (challenge, origin, RP ID hash, user presence
 * and verification, signature); this module fixes the policy: the accepted
 * origins and RP ID come from configuration, only ES256, EdDSA and RS256 keys
 * are accepted, user verification is always required, and a sign counter
 * that goes backwards is reported as a possible clone, not merely refused.
 */

/** COSE ids: EdDSA, ES256, RS256. Anything else (RS1, unknown) is refused at registration. */
export const ALLOWED_ALGORITHMS: readonly number[] = [-8, -7, -257];
const TIMEOUT_MS = 5 * 60 * 1000;

export interface RelyingParty {
  rpId: string;
  rpName: string;
  origins: readonly string[];
}

/** Why an assertion or attestation was refused. */
export class PasskeyError extends Error {
  constructor(readonly reason: 'invalid' | 'counter_regression') {
    super(`passkey ${reason}`);
    this.name = 'PasskeyError';
  }
}

export interface StoredCredential {
  credentialId: string;
  /** base64url of the COSE public key. */
  publicKey: string;
  counter: number;
  transports: string[];
}

export interface NewCredential extends StoredCredential {
  aaguid: string;
  backedUp: boolean;
}

/**
 * Checks a challenge found in a response and uses it up; true when it was
 * ours, live and unused. Called once per verification.
 */
export type ChallengeCheck = (challenge: string) => Promise<boolean>;

export type { AuthenticationResponseJSON, RegistrationResponseJSON };
export type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON };

export class Webauthn {
  constructor(private readonly rp: RelyingParty) {}

  /** Options for registering a discoverable passkey of `user`; `exclude` lists credentials the account already has. */
  async registrationOptions(
    user: { id: string; email: string },
    exclude: StoredCredential[],
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return generateRegistrationOptions({
      rpName: this.rp.rpName,
      rpID: this.rp.rpId,
      userName: user.email,
      userID: new TextEncoder().encode(user.id),
      challenge: randomBytes(32),
      timeout: TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: exclude.map((c) => ({
        id: c.credentialId,
        transports: c.transports as AuthenticatorTransport[],
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      supportedAlgorithmIDs: [...ALLOWED_ALGORITHMS],
    });
  }

  /**
   * Options for an assertion: of the given credentials (a second factor), or
   * of any discoverable one (passwordless).
   */
  async authenticationOptions(allow?: StoredCredential[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.rp.rpId,
      challenge: randomBytes(32),
      timeout: TIMEOUT_MS,
      userVerification: 'required',
      allowCredentials: allow?.map((c) => ({
        id: c.credentialId,
        transports: c.transports as AuthenticatorTransport[],
      })),
    });
  }

  async verifyRegistration(response: RegistrationResponseJSON, challenge: ChallengeCheck): Promise<NewCredential> {
    let result;
    try {
      result = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.rp.origins],
        expectedRPID: this.rp.rpId,
        requireUserVerification: true,
        supportedAlgorithmIDs: [...ALLOWED_ALGORITHMS],
      });
    } catch {
      throw new PasskeyError('invalid');
    }
    if (!result.verified) throw new PasskeyError('invalid');
    const info = result.registrationInfo;
    return {
      credentialId: info.credential.id,
      publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
      counter: info.credential.counter,
      transports: info.credential.transports ?? response.response.transports ?? [],
      aaguid: info.aaguid,
      backedUp: info.credentialBackedUp,
    };
  }

  /**
   * Verifies an assertion against the stored credential; returns the new
   * counter. A counter that does not move forward (both non-zero) is a
   * PasskeyError('counter_regression'): the credential may have been cloned.
   */
  async verifyAuthentication(
    response: AuthenticationResponseJSON,
    credential: StoredCredential,
    challenge: ChallengeCheck,
  ): Promise<number> {
    const presented = counterOf(response);
    if (presented === undefined) throw new PasskeyError('invalid');
    if ((presented > 0 || credential.counter > 0) && presented <= credential.counter) {
      // Still use the challenge up, so the same response cannot be tried again.
      await challenge(challengeOf(response) ?? '');
      throw new PasskeyError('counter_regression');
    }
    let result;
    try {
      result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.rp.origins],
        expectedRPID: this.rp.rpId,
        credential: {
          id: credential.credentialId,
          publicKey: isoBase64URL.toBuffer(credential.publicKey),
          counter: credential.counter,
          transports: credential.transports as AuthenticatorTransport[],
        },
        requireUserVerification: true,
      });
    } catch {
      throw new PasskeyError('invalid');
    }
    if (!result.verified || !result.authenticationInfo.userVerified) throw new PasskeyError('invalid');
    return result.authenticationInfo.newCounter;
  }
}

/** The challenge a response claims to answer (untrusted until verified). */
export function challengeOf(response: { response?: { clientDataJSON?: unknown } }): string | undefined {
  try {
    const data = response.response?.clientDataJSON;
    return typeof data === 'string' ? decodeClientDataJSON(data).challenge : undefined;
  } catch {
    return undefined;
  }
}

/** The sign counter in an assertion's authenticator data (untrusted until verified). */
function counterOf(response: AuthenticationResponseJSON): number | undefined {
  try {
    return parseAuthenticatorData(isoBase64URL.toBuffer(response.response.authenticatorData)).counter;
  } catch {
    return undefined;
  }
}
