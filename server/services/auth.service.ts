import { randomUUID } from 'node:crypto';
import type { MfaChallenge, TokenPair } from '../../shared/dto.js';
import type { LockoutRepository, LoginThrottleRepository } from '../db/repositories/lockout.repository.js';
import type { EmailTokenRepository } from '../db/repositories/email-token.repository.js';
import type { UserRepository, UserRow } from '../db/repositories/user.repository.js';
import type { Sql } from '../db/sql.js';
import type { Mailer } from '../email/mailer.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { Clock } from '../security/clock.js';
import type { Keyring } from '../security/keyring.js';
import { newEmailToken } from '../security/opaque-token.js';
import type { PasswordHasher, ScryptParams } from '../security/password-hasher.js';
import { weakerThan } from '../security/scrypt-params.js';
import type { BackgroundTasks } from './background-tasks.js';
import type { CredentialVerifier } from './credential-verifier.service.js';
import { isStorableEmail, normaliseEmail } from './email-normaliser.js';
import type { MfaLoginService } from './mfa-login.service.js';
import type { PasswordPolicy } from './password-policy.js';
import type { SessionService } from './session.service.js';

const VERIFY_TTL_SECONDS = 24 * 3600;
const RESET_TTL_SECONDS = 30 * 60;

export interface AuthDeps {
  clock: Clock;
  publicUrl: string;
  emailVerificationRequired: boolean;
  hasher: PasswordHasher;
  /** The current hashing cost: stored hashes below it are re-hashed at login. */
  scrypt: ScryptParams;
  policy: PasswordPolicy;
  keyring: Keyring;
  users: UserRepository;
  emailTokens: EmailTokenRepository;
  lockouts: LockoutRepository;
  throttles: LoginThrottleRepository;
  credentials: CredentialVerifier;
  sessions: SessionService;
  mfaLogin: MfaLoginService;
  mailer: Mailer;
  events: SecurityEvents;
  metrics: Metrics;
  background: BackgroundTasks;
}

/**
 * Registration, login, email verification and password management.
 * Hashing always happens before a transaction opens: no database connection
 * is held while scrypt runs.
 */
export class AuthService {
  constructor(private readonly d: AuthDeps) {}

  private weakPasswordCheck(password: string, email: string): void {
    const reason = this.d.policy.check(password, email);
    if (reason) throw new AppError('WEAK_PASSWORD', { reason, message: `password refused: ${reason}` });
  }

  async register(
    sql: Sql,
    input: { email: string; password: string; fullName?: string },
    req: RequestInfo,
  ): Promise<{ ok: true; verificationRequired: boolean }> {
    const email = normaliseEmail(input.email);
    // Validated again after normalising: NFKC can turn a valid-looking input
    // into something that is not one plain address (see email-normaliser).
    if (!isStorableEmail(email)) {
      throw new AppError('INVALID_INPUT', {
        field: 'email',
        message: 'Invalid input at "email": must be an email address',
      });
    }
    this.weakPasswordCheck(input.password, email);
    const verificationRequired = this.d.emailVerificationRequired;
    // Hash even when the email is taken, so both answers take the same time.
    const hashedPassword = await this.d.hasher.hash(input.password);
    const created = await sql.tx(async (tx) => {
      const user = await this.d.users.insert(tx, {
        id: randomUUID(),
        email,
        hashedPassword,
        fullName: input.fullName?.trim() || null,
        verified: !verificationRequired,
      });
      if (!user) {
        if (!verificationRequired) return null;
        // Anti-enumeration: same answer as a new sign-up; the owner is told instead.
        await this.d.mailer.enqueue(tx, {
          kind: 'signup_attempt',
          to: email,
          resetLink: `${this.d.publicUrl}/reset-password`,
        });
        return null;
      }
      await this.d.throttles.delete(tx, this.d.keyring.lookupDigest('login-throttle', email));
      if (verificationRequired) await this.issueEmailToken(tx, user.id, email, 'verify_email');
      return user;
    });
    if (!created) {
      await this.d.events.emit(sql, req, {
        type: 'user_registration',
        outcome: 'failure',
        email,
        details: { reason: 'email_taken' },
      });
      if (!verificationRequired) throw new AppError('EMAIL_TAKEN');
      return { ok: true, verificationRequired };
    }
    await this.d.events.emit(sql, req, { type: 'user_registration', outcome: 'success', userId: created.id, email });
    return { ok: true, verificationRequired };
  }

  async verifyEmail(sql: Sql, token: string, req: RequestInfo): Promise<{ ok: true }> {
    const userId = await sql.tx(async (tx) => {
      const id = await this.d.emailTokens.consume(
        tx,
        'verify_email',
        this.d.keyring.emailTokenDigests(token),
        this.d.clock.now(),
      );
      if (id) await this.d.users.markVerified(tx, id);
      return id;
    });
    if (!userId) throw new AppError('INVALID_TOKEN');
    await this.d.events.emit(sql, req, { type: 'email_verified', outcome: 'success', userId });
    return { ok: true };
  }

  /**
   * Always answers ok: whether the email exists is not revealed, neither by
   * the answer nor by its timing (the account's work runs after it).
   */
  async resendVerification(sql: Sql, rawEmail: string, _req: RequestInfo): Promise<{ ok: true }> {
    const email = normaliseEmail(rawEmail);
    this.d.background.run('resend_verification', async () => {
      const user = await this.d.users.findByEmail(sql, email);
      if (user && !user.email_verified_at && user.is_active) {
        await sql.tx((tx) => this.issueEmailToken(tx, user.id, email, 'verify_email'));
      }
    });
    return { ok: true };
  }

  /**
   * A TokenPair for an account without a second factor; otherwise an
   * MfaChallenge, and no session until `auth.mfa.*` answers it.
   */
  async login(
    sql: Sql,
    input: { email: string; password: string },
    req: RequestInfo,
  ): Promise<TokenPair | MfaChallenge> {
    const email = normaliseEmail(input.email);
    const user = await this.d.users.findByEmail(sql, email);
    await this.d.credentials.verify(sql, email, user, input.password, req);
    const u = user!;
    if (this.d.emailVerificationRequired && !u.email_verified_at) {
      // The right password ends a failure streak, but never a lock it did not see.
      const lock = await sql.tx(async (tx) => {
        const current = await this.d.users.lockById(tx, u.id);
        const until = current && (await this.d.credentials.activeLock(tx, current));
        if (!until) await this.d.users.clearLock(tx, u.id);
        return until;
      });
      if (lock) await this.d.credentials.refuseLocked(sql, u, lock, req);
      this.d.metrics.loginFailure.inc({ reason: 'email_not_verified' });
      await this.d.events.emit(sql, req, {
        type: 'auth_failure',
        outcome: 'failure',
        userId: u.id,
        email,
        details: { reason: 'email_not_verified' },
      });
      throw new AppError('EMAIL_NOT_VERIFIED');
    }
    // Hashes made with weaker scrypt parameters are upgraded on the next login; never downgraded.
    const upgrade = this.d.hasher.needsRehash(u.hashed_password) && weakerThan(u.hashed_password, this.d.scrypt);
    const newHash = upgrade ? await this.d.hasher.hash(input.password) : undefined;
    type LoginOutcome = { lockedUntil: Date } | { challenge: MfaChallenge } | { pair: TokenPair };
    const result = await sql.tx(async (tx): Promise<LoginOutcome> => {
      // Time-of-check/time-of-use: a reset or password change may have
      // committed while scrypt ran. Re-read the row under a lock; if the
      // password we checked is no longer the account's, open no session
      // (it would outlive the reset) and write no re-hash (it would put the
      // old password back).
      const current = await this.d.users.lockById(tx, u.id);
      if (!current || !current.is_active || passwordChangedSince(u, current)) {
        this.d.metrics.loginFailure.inc({ reason: 'password_changed' });
        throw new AppError('INVALID_CREDENTIALS');
      }
      // A burst of wrong passwords may have locked the account while this
      // one was hashed: the lock stands, and no session or challenge opens.
      const lockedUntil = await this.d.credentials.activeLock(tx, current);
      if (lockedUntil) return { lockedUntil };
      const methods = await this.d.mfaLogin.methodsFor(tx, u.id);
      if (methods) {
        // Half a login: the failure count is not reset (wrong second-factor
        // answers continue it), and no session or token exists yet.
        if (newHash) await this.d.users.rehash(tx, u.id, newHash);
        return { challenge: await this.d.mfaLogin.issueChallenge(tx, current, methods) };
      }
      await this.d.users.recordLogin(tx, u.id, newHash);
      const started = await this.d.sessions.start(tx, current, req);
      // Recorded in the session's own transaction: one commit per login.
      await this.d.events.emit(tx, req, {
        type: 'auth_success',
        outcome: 'success',
        userId: u.id,
        email,
        details: { rehashed: newHash !== undefined },
      });
      return { pair: started };
    });
    if ('lockedUntil' in result) return this.d.credentials.refuseLocked(sql, u, result.lockedUntil, req);
    if ('challenge' in result) return result.challenge;
    const pair = result.pair;
    this.d.metrics.loginSuccess.inc();
    return pair;
  }

  async changePassword(
    sql: Sql,
    userId: string,
    input: { currentPassword: string; newPassword: string },
    req: RequestInfo,
  ): Promise<TokenPair> {
    const user = await this.d.users.findById(sql, userId);
    if (!user) throw new AppError('UNAUTHENTICATED');
    await this.d.credentials.verify(sql, user.email, user, input.currentPassword, req);
    this.weakPasswordCheck(input.newPassword, user.email);
    const hashed = await this.d.hasher.hash(input.newPassword);
    const result = await sql.tx(async (tx) => {
      // A reset (or another change) that committed while scrypt ran has
      // ended this session: the owner's new password must stand, and this
      // caller gets no fresh session from a password that is gone.
      const current = await this.d.users.lockById(tx, user.id);
      if (!current || !current.is_active || passwordChangedSince(user, current)) throw new AppError('UNAUTHENTICATED');
      // Failures elsewhere may have locked the account meanwhile: that lock stands.
      const lockedUntil = await this.d.credentials.activeLock(tx, current);
      if (lockedUntil) return { lockedUntil };
      // The right current password also ends the failure streak, as a login does.
      const sessionVersion = await this.d.users.setPassword(tx, user.id, hashed, { clearLock: true });
      await this.d.sessions.revokeAll(tx, user.id, req, undefined, 'password_changed');
      await this.d.mailer.enqueue(tx, { kind: 'password_changed', to: user.email });
      return { pair: await this.d.sessions.start(tx, { ...user, session_version: sessionVersion }, req) };
    });
    if (result.pair === undefined) return this.d.credentials.refuseLocked(sql, user, result.lockedUntil, req);
    const pair = result.pair;
    await this.d.events.emit(sql, req, {
      type: 'password_changed',
      outcome: 'success',
      userId: user.id,
      email: user.email,
    });
    return pair;
  }

  /**
   * Always answers ok: whether the email exists is not revealed, neither by
   * the answer nor by its timing (the account's work runs after it).
   */
  async requestPasswordReset(sql: Sql, rawEmail: string, req: RequestInfo): Promise<{ ok: true }> {
    const email = normaliseEmail(rawEmail);
    this.d.background.run('password_reset_request', async () => {
      const user = await this.d.users.findByEmail(sql, email);
      const real = user !== undefined && user.is_active;
      if (real) await sql.tx((tx) => this.issueEmailToken(tx, user.id, email, 'reset_password'));
      await this.d.events.emit(sql, req, {
        type: 'password_reset_requested',
        outcome: real ? 'success' : 'failure',
        userId: user?.id ?? null,
        email,
      });
    });
    return { ok: true };
  }

  async resetPassword(
    sql: Sql,
    input: { token: string; newPassword: string },
    req: RequestInfo,
  ): Promise<{ ok: true }> {
    // Every ring key's digest: a link mailed before a routine rotation still works.
    const digests = this.d.keyring.emailTokenDigests(input.token);
    const now = this.d.clock.now();
    // Peek first so a refused new password does not burn the link.
    const userId = await this.d.emailTokens.peek(sql, 'reset_password', digests, now);
    const user = userId ? await this.d.users.findById(sql, userId) : undefined;
    // A disabled account's link changes nothing: re-enabling it must not find a password set meanwhile.
    if (!user || !user.is_active) throw new AppError('INVALID_TOKEN');
    this.weakPasswordCheck(input.newPassword, user.email);
    const hashed = await this.d.hasher.hash(input.newPassword);
    const done = await sql.tx(async (tx) => {
      const current = await this.d.users.lockById(tx, user.id);
      if (!current?.is_active) return false;
      const consumed = await this.d.emailTokens.consume(tx, 'reset_password', digests, this.d.clock.now());
      if (consumed !== user.id) return false;
      await this.d.users.setPassword(tx, user.id, hashed, { clearLock: true });
      // The link proves control of the mailbox.
      await this.d.users.markVerified(tx, user.id);
      await this.d.lockouts.release(tx, user.id, 'password_reset', this.d.clock.now());
      await this.d.sessions.revokeAll(tx, user.id, req, undefined, 'password_reset');
      await this.d.mailer.enqueue(tx, { kind: 'password_changed', to: user.email });
      return true;
    });
    if (!done) throw new AppError('INVALID_TOKEN');
    await this.d.events.emit(sql, req, {
      type: 'password_reset_completed',
      outcome: 'success',
      userId: user.id,
      email: user.email,
    });
    return { ok: true };
  }

  /**
   * The mail part of an operator's forced reset, in the caller's
   * transaction: every older reset link dies with the old password, and an
   * active account gets a new one. Not the user's own request, so it raises
   * no `password_reset_requested` (the caller audits the admin action).
   * Returns whether a link was mailed.
   */
  async issueForcedReset(tx: Sql, user: UserRow): Promise<boolean> {
    if (!user.is_active) {
      await this.d.emailTokens.invalidate(tx, user.id, 'reset_password', this.d.clock.now());
      return false;
    }
    await this.issueEmailToken(tx, user.id, user.email, 'reset_password');
    return true;
  }

  private async issueEmailToken(
    tx: Sql,
    userId: string,
    email: string,
    purpose: 'verify_email' | 'reset_password',
  ): Promise<void> {
    const token = newEmailToken();
    const ttl = purpose === 'verify_email' ? VERIFY_TTL_SECONDS : RESET_TTL_SECONDS;
    const now = this.d.clock.now();
    await this.d.emailTokens.replace(
      tx,
      {
        userId,
        purpose,
        tokenHash: this.d.keyring.emailTokenDigest(token),
        expiresAt: new Date(now.getTime() + ttl * 1000),
      },
      now,
    );
    const path = purpose === 'verify_email' ? 'verify-email' : 'reset-password';
    const link = `${this.d.publicUrl}/${path}?token=${token}`;
    await this.d.mailer.enqueue(
      tx,
      purpose === 'verify_email'
        ? { kind: 'verify_email', to: email, link }
        : { kind: 'reset_password', to: email, link },
    );
  }
}

/**
 * True when the password of `before` is no longer the account's password in
 * `after`. Every password write (change, reset, admin force-reset) stamps
 * password_changed_at; a re-hash of the same password does not.
 */
function passwordChangedSince(before: UserRow, after: UserRow): boolean {
  return (before.password_changed_at?.getTime() ?? null) !== (after.password_changed_at?.getTime() ?? null);
}
