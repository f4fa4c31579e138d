import { randomUUID } from 'node:crypto';
import type { PasskeyCreationOptions, PasskeyRequestOptions, TokenPair } from '../../shared/dto.js';
import type { MfaFactorRepository, MfaFactorRow } from '../db/repositories/mfa-factor.repository.js';
import type { UserRepository, UserRow } from '../db/repositories/user.repository.js';
import type { WebauthnChallengeRepository, WebauthnPurpose } from '../db/repositories/webauthn-challenge.repository.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { AccountRateLimits } from './account-rate-limits.js';
import type { Clock } from '../security/clock.js';
import type { Keyring } from '../security/keyring.js';
import {
  PasskeyError,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
  type StoredCredential,
  type Webauthn,
} from '../security/webauthn.js';
import type { CredentialVerifier } from './credential-verifier.service.js';
import { secondsUntil } from './lockout-policy.js';
import type { MfaLoginService } from './mfa-login.service.js';
import type { MfaService, Reauth } from './mfa.service.js';
import type { SessionService } from './session.service.js';

/** A passkey ceremony's challenge lives this long, and works once. */
export const WEBAUTHN_CHALLENGE_TTL_SECONDS = 5 * 60;
const DEFAULT_PASSKEY_NAME = 'Passkey';

export interface PasskeyDeps {
  clock: Clock;
  keyring: Keyring;
  webauthn: Webauthn;
  users: UserRepository;
  factors: MfaFactorRepository;
  challenges: WebauthnChallengeRepository;
  mfa: MfaService;
  mfaLogin: MfaLoginService;
  credentials: CredentialVerifier;
  sessions: SessionService;
  limits: AccountRateLimits;
  events: SecurityEvents;
  metrics: Metrics;
}

function stored(f: MfaFactorRow): StoredCredential {
  return {
    credentialId: f.credential_id!,
    publicKey: f.public_key!,
    counter: Number(f.sign_count ?? 0),
    transports: f.transports ? f.transports.split(',') : [],
  };
}

/**
 * Passkeys as a second factor and for passwordless sign-in. Challenges are
 * stored as digests, bound to their purpose (and account, where known), and
 * used up by the verification that checks them.
 */
export class PasskeyService {
  constructor(private readonly d: PasskeyDeps) {}

  async registerOptions(sql: Sql, userId: string, proof: Reauth, req: RequestInfo): Promise<PasskeyCreationOptions> {
    const user = await this.d.mfa.account(sql, userId);
    await this.d.mfa.reauth(sql, user, proof, req);
    const existing = (await this.d.factors.listConfirmed(sql, user.id)).filter((f) => f.kind === 'passkey').map(stored);
    const options = await this.d.webauthn.registrationOptions({ id: user.id, email: user.email }, existing);
    await this.storeChallenge(sql, options.challenge, 'register', user.id);
    return options as PasskeyCreationOptions;
  }

  async register(
    sql: Sql,
    userId: string,
    sessionId: string,
    input: { response: RegistrationResponseJSON; name?: string },
    req: RequestInfo,
  ): Promise<{ factorId: string; recoveryCodes: string[] | null }> {
    const user = await this.d.mfa.account(sql, userId);
    await this.d.limits.consume(sql, req, 'mfa.user', user.id);
    let credential;
    try {
      credential = await this.d.webauthn.verifyRegistration(input.response, (c) =>
        this.useChallenge(sql, c, 'register', user.id),
      );
    } catch (err) {
      if (!(err instanceof PasskeyError)) throw err;
      await this.failure(sql, req, user, 'invalid_registration');
      throw new AppError('INVALID_MFA_CODE');
    }
    const factorId = randomUUID();
    const result = await sql.tx(async (tx) => {
      const inserted = await this.d.factors.insertPasskey(tx, {
        id: factorId,
        userId: user.id,
        name: input.name?.trim() || DEFAULT_PASSKEY_NAME,
        credentialId: credential.credentialId,
        publicKey: credential.publicKey,
        signCount: credential.counter,
        transports: credential.transports.join(',').slice(0, 200) || null,
        aaguid: credential.aaguid,
        backedUp: credential.backedUp,
      });
      // One credential id belongs to one account (the unique index decides, also under a race).
      if (!inserted) return null;
      return this.d.mfa.factorAdded(tx, user, sessionId, factorId, 'passkey', req);
    });
    if (!result)
      throw new AppError('INVALID_INPUT', { field: 'response', message: 'This passkey is already registered' });
    return { factorId, recoveryCodes: result.recoveryCodes };
  }

  /** Assertion options for the second step of a login: the account's own passkeys. */
  async mfaOptions(sql: Sql, mfaToken: string, req: RequestInfo): Promise<PasskeyRequestOptions> {
    const { user } = await this.d.mfaLogin.open(sql, mfaToken, req, false);
    const passkeys = (await this.d.factors.listConfirmed(sql, user.id)).filter((f) => f.kind === 'passkey');
    if (passkeys.length === 0) throw new AppError('NOT_FOUND', { message: 'This account has no passkey' });
    const options = await this.d.webauthn.authenticationOptions(passkeys.map(stored));
    await this.storeChallenge(sql, options.challenge, 'mfa', user.id);
    return options as PasskeyRequestOptions;
  }

  /** Finishes a login with a passkey as the second factor. */
  async mfaVerify(
    sql: Sql,
    input: { mfaToken: string; response: AuthenticationResponseJSON },
    req: RequestInfo,
  ): Promise<TokenPair> {
    const { challenge, user } = await this.d.mfaLogin.open(sql, input.mfaToken, req);
    const factor = await this.d.factors.findByCredentialId(sql, input.response.id);
    let regression = false;
    try {
      return await this.d.mfaLogin.finish(sql, challenge, user, req, async (tx) => {
        if (!factor || factor.user_id !== user.id) return null;
        try {
          await this.assert(tx, factor, input.response, 'mfa', user.id);
          return ['pwd', 'hwk'];
        } catch (err) {
          if (!(err instanceof PasskeyError)) throw err;
          regression = err.reason === 'counter_regression';
          return null;
        }
      });
    } finally {
      if (regression) await this.counterRegression(sql, req, user, factor!);
    }
  }

  /** Options for a passwordless sign-in: any discoverable passkey of this relying party. */
  async loginOptions(sql: Sql): Promise<{ challengeId: string; options: PasskeyRequestOptions }> {
    const options = await this.d.webauthn.authenticationOptions();
    const challengeId = await this.storeChallenge(sql, options.challenge, 'login', null);
    return { challengeId, options: options as PasskeyRequestOptions };
  }

  /**
   * Passwordless sign-in: the passkey (with user verification) is both
   * factors. A locked or disabled account is refused like on every other
   * path; a failed assertion counts toward the lockout of the account the
   * passkey names.
   */
  async login(
    sql: Sql,
    input: { challengeId: string; response: AuthenticationResponseJSON },
    req: RequestInfo,
  ): Promise<TokenPair> {
    const factor = await this.d.factors.findByCredentialId(sql, input.response.id);
    const user = factor ? await this.d.users.findById(sql, factor.user_id) : undefined;
    const handle = input.response.response.userHandle;
    if (
      !factor ||
      !user ||
      !user.is_active ||
      (handle !== undefined && Buffer.from(handle, 'base64url').toString('utf8') !== user.id)
    ) {
      this.d.metrics.loginFailure.inc({ reason: 'unknown_passkey' });
      await this.d.events.emit(sql, req, {
        type: 'auth_failure',
        outcome: 'failure',
        userId: user?.id ?? null,
        details: { reason: 'unknown_passkey' },
      });
      throw new AppError('INVALID_CREDENTIALS');
    }
    await this.d.credentials.assertNotLocked(sql, user, req);
    await this.d.limits.consume(sql, req, 'mfa.user', user.id);
    let refusal: 'invalid' | 'counter_regression' | undefined;
    try {
      const pair = await sql.tx(async (tx) => {
        const now = this.d.clock.now();
        const current = await this.d.users.lockById(tx, user.id);
        if (!current || !current.is_active) throw new AppError('INVALID_CREDENTIALS');
        if (current.locked_until && current.locked_until > now) {
          throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(current.locked_until, now) });
        }
        await this.assert(tx, factor, input.response, 'login', null, input.challengeId);
        await this.d.users.recordLogin(tx, user.id);
        const started = await this.d.sessions.start(tx, current, req, ['hwk', 'user']);
        await this.d.events.emit(tx, req, {
          type: 'auth_success',
          outcome: 'success',
          userId: user.id,
          email: user.email,
          details: { amr: ['hwk', 'user'], method: 'passkey' },
        });
        return started;
      });
      this.d.metrics.loginSuccess.inc();
      return pair;
    } catch (err) {
      if (!(err instanceof PasskeyError)) throw err;
      refusal = err.reason;
    }
    if (refusal === 'counter_regression') await this.counterRegression(sql, req, user, factor);
    await this.failure(sql, req, user, refusal === 'counter_regression' ? 'counter_regression' : 'invalid_assertion');
    await this.d.credentials.recordSecondFactorFailure(
      sql,
      (await this.d.users.findById(sql, user.id)) ?? user,
      req,
      'bad_passkey',
    );
    throw new AppError('INVALID_CREDENTIALS');
  }

  /** Verifies an assertion of `factor` and moves its counter forward (compare-and-set), in the caller's transaction. */
  private async assert(
    tx: Sql,
    factor: MfaFactorRow,
    response: AuthenticationResponseJSON,
    purpose: WebauthnPurpose,
    userId: string | null,
    challengeId?: string,
  ): Promise<void> {
    const counter = await this.d.webauthn.verifyAuthentication(response, stored(factor), (c) =>
      this.useChallenge(tx, c, purpose, userId, challengeId),
    );
    // A parallel assertion that moved the counter first wins; this one is a replay.
    if (!(await this.d.factors.advanceCounter(tx, factor.id, factor.sign_count, counter, this.d.clock.now()))) {
      throw new PasskeyError('invalid');
    }
  }

  private async storeChallenge(
    sql: Sql,
    challenge: string,
    purpose: WebauthnPurpose,
    userId: string | null,
  ): Promise<string> {
    const expiresAt = new Date(this.d.clock.now().getTime() + WEBAUTHN_CHALLENGE_TTL_SECONDS * 1000);
    return this.d.challenges.insert(sql, { challengeHash: this.digest(challenge), userId, purpose, expiresAt });
  }

  private useChallenge(
    sql: Sql,
    challenge: string,
    purpose: WebauthnPurpose,
    userId: string | null,
    id?: string,
  ): Promise<boolean> {
    return this.d.challenges.consume(
      sql,
      { challengeHash: this.digest(challenge), purpose, userId, id },
      this.d.clock.now(),
    );
  }

  private digest(challenge: string): string {
    return this.d.keyring.lookupDigest('webauthn-challenge', challenge);
  }

  private async failure(sql: Sql, req: RequestInfo, user: UserRow, reason: string): Promise<void> {
    await this.d.events.emit(sql, req, {
      type: 'mfa_failure',
      outcome: 'failure',
      userId: user.id,
      email: user.email,
      details: { reason },
    });
  }

  private async counterRegression(sql: Sql, req: RequestInfo, user: UserRow, factor: MfaFactorRow): Promise<void> {
    await this.d.events.emit(sql, req, {
      type: 'passkey_counter_regression',
      outcome: 'failure',
      userId: user.id,
      email: user.email,
      details: { factor_id: factor.id, stored_counter: Number(factor.sign_count ?? 0) },
    });
  }
}
