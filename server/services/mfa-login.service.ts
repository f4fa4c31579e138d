import { randomBytes, randomUUID } from 'node:crypto';
import type { AuthMethod, MfaChallenge, TokenPair } from '../../shared/dto.js';
import type { MfaChallengeRepository, MfaChallengeRow } from '../db/repositories/mfa-challenge.repository.js';
import type { MfaFactorRepository } from '../db/repositories/mfa-factor.repository.js';
import type { RecoveryCodeRepository } from '../db/repositories/recovery-code.repository.js';
import type { UserRepository, UserRow } from '../db/repositories/user.repository.js';
import type { Sql } from '../db/sql.js';
import type { Mailer } from '../email/mailer.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { AccountRateLimits } from './account-rate-limits.js';
import type { Clock } from '../security/clock.js';
import type { Keyring } from '../security/keyring.js';
import { secondsUntil } from './lockout-policy.js';
import type { CredentialVerifier } from './credential-verifier.service.js';
import type { SecondFactorCheck } from './second-factor-check.js';
import type { SessionService } from './session.service.js';

/** The login challenge lives this long ... */
export const MFA_CHALLENGE_TTL_SECONDS = 5 * 60;
/** ... and dies after this many wrong answers. */
export const MFA_CHALLENGE_MAX_ATTEMPTS = 5;

type Method = MfaChallenge['methods'][number];

/** Why an answer was refused inside the transaction (which then rolls back). */
class Refusal extends Error {
  constructor(
    readonly kind: 'expired' | 'wrong' | 'locked',
    readonly retryAfter?: number,
  ) {
    super(kind);
  }
}

export interface MfaLoginDeps {
  clock: Clock;
  keyring: Keyring;
  users: UserRepository;
  factors: MfaFactorRepository;
  recoveryCodes: RecoveryCodeRepository;
  challenges: MfaChallengeRepository;
  check: SecondFactorCheck;
  credentials: CredentialVerifier;
  sessions: SessionService;
  limits: AccountRateLimits;
  mailer: Mailer;
  events: SecurityEvents;
  metrics: Metrics;
}

/**
 * The second step of a login. A right password on an account with a second
 * factor yields a challenge, not a session: an opaque mfaToken (only its
 * digest is stored) bound to the account and to the password that was
 * checked. The session, and its tokens, exist only once the challenge is
 * answered. Wrong answers count toward the account lockout.
 */
export class MfaLoginService {
  constructor(private readonly d: MfaLoginDeps) {}

  /** The methods a login of this account can be finished with, or null when it has no second factor. */
  async methodsFor(sql: Sql, userId: string): Promise<Method[] | null> {
    const factors = await this.d.factors.listConfirmed(sql, userId);
    if (factors.length === 0) return null;
    const methods: Method[] = [];
    if (factors.some((f) => f.kind === 'totp')) methods.push('totp');
    if (factors.some((f) => f.kind === 'passkey')) methods.push('passkey');
    if ((await this.d.recoveryCodes.countUnused(sql, userId)) > 0) methods.push('recovery_code');
    return methods;
  }

  /** Called by the login, in its transaction, once the password is right and still the account's. */
  async issueChallenge(tx: Sql, user: UserRow, methods: Method[]): Promise<MfaChallenge> {
    const mfaToken = randomBytes(32).toString('base64url');
    const now = this.d.clock.now();
    await this.d.challenges.insert(tx, {
      id: randomUUID(),
      tokenHash: this.digest(mfaToken),
      userId: user.id,
      passwordChangedAt: user.password_changed_at,
      expiresAt: new Date(now.getTime() + MFA_CHALLENGE_TTL_SECONDS * 1000),
    });
    this.d.metrics.mfaChallenges.inc({ outcome: 'issued' });
    return { mfaRequired: true, mfaToken, methods, expiresIn: MFA_CHALLENGE_TTL_SECONDS };
  }

  /** Finishes a login with a TOTP code or a recovery code. */
  async verifyCode(sql: Sql, input: { mfaToken: string; code: string }, req: RequestInfo): Promise<TokenPair> {
    const { challenge, user } = await this.open(sql, input.mfaToken, req);
    return this.finish(sql, challenge, user, req, async (tx) => {
      const used = await this.d.check.use(tx, user.id, input.code);
      if (!used) return null;
      // In the login's transaction: the mail exists exactly when the code was spent.
      if (used === 'kba') await this.recoveryCodeUsed(tx, user, req);
      return ['pwd', used];
    });
  }

  /**
   * The live challenge of an mfaToken and its account, after the checks
   * every answer path shares: the challenge is live, the account active, its
   * password unchanged since the challenge was made, the account not locked,
   * and (for an answer) the per-account answer limit not reached.
   */
  async open(
    sql: Sql,
    mfaToken: string,
    req: RequestInfo,
    answering = true,
  ): Promise<{ challenge: MfaChallengeRow; user: UserRow }> {
    const now = this.d.clock.now();
    const challenge = await this.d.challenges.findLive(sql, this.digest(mfaToken), MFA_CHALLENGE_MAX_ATTEMPTS, now);
    const user = challenge ? await this.d.users.findById(sql, challenge.user_id) : undefined;
    if (!challenge || !user || !stillBound(challenge, user)) {
      this.d.metrics.mfaChallenges.inc({ outcome: 'expired' });
      throw new AppError('MFA_CHALLENGE_EXPIRED');
    }
    await this.d.credentials.assertNotLocked(sql, user, req);
    if (answering) await this.d.limits.consume(sql, req, 'mfa.user', user.id);
    return { challenge, user };
  }

  /**
   * Checks an answer (`answer` returns the session's methods, or null when
   * wrong) and, when right, uses the challenge up and starts the session,
   * all in one transaction under the account's row lock: parallel answers
   * to one challenge, or to several challenges of one account, take turns.
   */
  async finish(
    sql: Sql,
    challenge: MfaChallengeRow,
    user: UserRow,
    req: RequestInfo,
    answer: (tx: Sql) => Promise<AuthMethod[] | null>,
  ): Promise<TokenPair> {
    try {
      const pair = await sql.tx(async (tx) => {
        const now = this.d.clock.now();
        const current = await this.d.users.lockById(tx, user.id);
        if (!current || !stillBound(challenge, current)) throw new Refusal('expired');
        if (current.locked_until && current.locked_until > now)
          throw new Refusal('locked', secondsUntil(current.locked_until, now));
        if (!(await this.d.challenges.consume(tx, challenge.id, MFA_CHALLENGE_MAX_ATTEMPTS, now)))
          throw new Refusal('expired');
        const amr = await answer(tx);
        if (!amr) throw new Refusal('wrong');
        await this.d.users.recordLogin(tx, user.id);
        const started = await this.d.sessions.start(tx, current, req, amr);
        const method = amr.includes('hwk') ? 'passkey' : amr.includes('kba') ? 'recovery_code' : 'totp';
        await this.d.events.emit(tx, req, {
          type: 'mfa_success',
          outcome: 'success',
          userId: user.id,
          email: user.email,
          details: { method },
        });
        await this.d.events.emit(tx, req, {
          type: 'auth_success',
          outcome: 'success',
          userId: user.id,
          email: user.email,
          details: { amr },
        });
        return started;
      });
      this.d.metrics.mfaChallenges.inc({ outcome: 'success' });
      this.d.metrics.loginSuccess.inc();
      return pair;
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      if (err.kind === 'expired') {
        this.d.metrics.mfaChallenges.inc({ outcome: 'expired' });
        throw new AppError('MFA_CHALLENGE_EXPIRED');
      }
      if (err.kind === 'locked') throw new AppError('ACCOUNT_LOCKED', { retryAfter: err.retryAfter });
      await this.wrongAnswer(sql, challenge, user, req);
      throw new AppError('INVALID_MFA_CODE');
    }
  }

  /** Counts a wrong answer against the challenge and the account (which may lock it: ACCOUNT_LOCKED). */
  async wrongAnswer(sql: Sql, challenge: MfaChallengeRow, user: UserRow, req: RequestInfo): Promise<void> {
    this.d.metrics.mfaChallenges.inc({ outcome: 'failure' });
    const attempts = await this.d.challenges.recordWrongAnswer(sql, challenge.id);
    await this.d.events.emit(sql, req, {
      type: 'mfa_failure',
      outcome: 'failure',
      userId: user.id,
      email: user.email,
      details: { reason: 'wrong_answer', challenge_attempts: attempts },
    });
    const latest = (await this.d.users.findById(sql, user.id)) ?? user;
    await this.d.credentials.recordSecondFactorFailure(sql, latest, req, 'bad_second_factor');
  }

  /** Mails the owner and records the event when a recovery code is spent (in the spending transaction). */
  async recoveryCodeUsed(sql: Sql, user: UserRow, req: RequestInfo): Promise<void> {
    const left = await this.d.recoveryCodes.countUnused(sql, user.id);
    await this.d.mailer.enqueue(sql, { kind: 'recovery_code_used', to: user.email, left });
    await this.d.events.emit(sql, req, {
      type: 'recovery_code_used',
      outcome: 'success',
      userId: user.id,
      email: user.email,
      details: { left },
    });
  }

  private digest(mfaToken: string): string {
    return this.d.keyring.lookupDigest('mfa-token', mfaToken);
  }
}

/** The challenge was made from the account's current password, and the account may sign in. */
function stillBound(challenge: MfaChallengeRow, user: UserRow): boolean {
  const then = challenge.password_changed_at?.getTime() ?? null;
  const now = user.password_changed_at?.getTime() ?? null;
  return user.is_active && then === now && challenge.user_id === user.id;
}
