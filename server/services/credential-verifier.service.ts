import type { LockoutRepository, LoginThrottleRepository } from '../db/repositories/lockout.repository.js';
import type { UserRepository, UserRow } from '../db/repositories/user.repository.js';
import type { Sql } from '../db/sql.js';
import type { Mailer } from '../email/mailer.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { Clock } from '../security/clock.js';
import type { Keyring } from '../security/keyring.js';
import type { PasswordHasher } from '../security/password-hasher.js';
import { lockoutSeconds, reachesThreshold, secondsUntil, type LockoutSettings } from './lockout-policy.js';

/**
 * Checks a password against an account (or against nothing, for an unknown
 * email) and keeps the lockout books. Known and unknown emails take the same
 * path and the same time: a dummy hash is verified for unknown emails, and
 * they lock after the same number of failures, so neither the answer nor its
 * timing tells an attacker whether an account exists.
 */
export class CredentialVerifier {
  constructor(
    private readonly d: {
      settings: LockoutSettings;
      clock: Clock;
      hasher: PasswordHasher;
      keyring: Keyring;
      users: UserRepository;
      lockouts: LockoutRepository;
      throttles: LoginThrottleRepository;
      events: SecurityEvents;
      metrics: Metrics;
      mailer: Mailer;
    },
  ) {}

  /** Resolves when the password is right; throws INVALID_CREDENTIALS or ACCOUNT_LOCKED. */
  async verify(sql: Sql, email: string, user: UserRow | undefined, password: string, req: RequestInfo): Promise<void> {
    if (user) return this.verifyKnown(sql, user, password, req);
    return this.verifyUnknown(sql, email, password, req);
  }

  private async verifyKnown(sql: Sql, user: UserRow, password: string, req: RequestInfo): Promise<void> {
    const now = this.d.clock.now();
    if (user.locked_until && user.locked_until > now) {
      // While locked even the right password is refused, and no hash is spent.
      await this.fail(sql, req, user.id, user.email, 'locked');
      throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(user.locked_until, now) });
    }
    if (user.locked_until) {
      await this.d.users.clearLock(sql, user.id);
      await this.d.lockouts.release(sql, user.id, 'expiry', now);
    }
    if (await this.d.hasher.verify(user.hashed_password, password)) return;

    const { failed_attempts } = await this.d.users.recordFailure(sql, user.id);
    await this.fail(sql, req, user.id, user.email, 'bad_password');
    if (!reachesThreshold(this.d.settings, failed_attempts)) throw new AppError('INVALID_CREDENTIALS');

    const previous = await this.d.lockouts.last(sql, user.id);
    const seconds = lockoutSeconds(this.d.settings, now, previous);
    const until = new Date(now.getTime() + seconds * 1000);
    // Conditional update: concurrent failures create one lockout, not several.
    if (await this.d.users.lock(sql, user.id, until, now)) {
      await sql.tx(async (tx) => {
        await this.d.lockouts.insert(tx, { userId: user.id, failedAttempts: failed_attempts, lockedAt: now, lockedUntil: until, sourceIp: req.ip });
        await this.d.mailer.enqueue(tx, { kind: 'account_locked', to: user.email, minutes: Math.ceil(seconds / 60) });
      });
      await this.lockedEvent(sql, req, user.id, user.email, seconds, failed_attempts);
    }
    throw new AppError('ACCOUNT_LOCKED', { retryAfter: seconds });
  }

  /**
   * Counts a wrong second-factor answer exactly like a wrong password: the
   * same counter, the same lockout, so a stolen password does not buy
   * unlimited guesses at the second factor. Throws ACCOUNT_LOCKED when this
   * answer reaches the threshold; otherwise returns and the caller refuses
   * the answer.
   */
  async recordSecondFactorFailure(sql: Sql, user: UserRow, req: RequestInfo, reason: string): Promise<void> {
    const now = this.d.clock.now();
    if (user.locked_until && user.locked_until <= now) {
      await this.d.users.clearLock(sql, user.id);
      await this.d.lockouts.release(sql, user.id, 'expiry', now);
    }
    const { failed_attempts } = await this.d.users.recordFailure(sql, user.id);
    this.d.metrics.loginFailure.inc({ reason });
    if (!reachesThreshold(this.d.settings, failed_attempts)) return;
    const previous = await this.d.lockouts.last(sql, user.id);
    const seconds = lockoutSeconds(this.d.settings, now, previous);
    const until = new Date(now.getTime() + seconds * 1000);
    if (await this.d.users.lock(sql, user.id, until, now)) {
      await sql.tx(async (tx) => {
        await this.d.lockouts.insert(tx, { userId: user.id, failedAttempts: failed_attempts, lockedAt: now, lockedUntil: until, sourceIp: req.ip });
        await this.d.mailer.enqueue(tx, { kind: 'account_locked', to: user.email, minutes: Math.ceil(seconds / 60) });
      });
      await this.lockedEvent(sql, req, user.id, user.email, seconds, failed_attempts);
    }
    throw new AppError('ACCOUNT_LOCKED', { retryAfter: seconds });
  }

  /** ACCOUNT_LOCKED when the account is locked now (every path refuses a locked account alike). */
  async assertNotLocked(sql: Sql, user: UserRow, req: RequestInfo): Promise<void> {
    const now = this.d.clock.now();
    if (user.locked_until && user.locked_until > now) {
      await this.fail(sql, req, user.id, user.email, 'locked');
      throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(user.locked_until, now) });
    }
  }

  private async verifyUnknown(sql: Sql, email: string, password: string, req: RequestInfo): Promise<void> {
    const now = this.d.clock.now();
    const digest = this.d.keyring.lookupDigest('login-throttle', email);
    const state = await this.d.throttles.get(sql, digest);
    if (state?.locked_until && state.locked_until > now) {
      await this.fail(sql, req, null, email, 'locked');
      throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(state.locked_until, now) });
    }
    if (state?.locked_until) await this.d.throttles.expire(sql, digest);
    await this.d.hasher.verifyDummy(password);

    const after = await this.d.throttles.recordFailure(sql, digest);
    await this.fail(sql, req, null, email, 'unknown_email');
    if (!reachesThreshold(this.d.settings, after.failed_attempts)) throw new AppError('INVALID_CREDENTIALS');
    const previous =
      after.last_locked_at && after.last_lock_seconds !== null
        ? { lockedAt: after.last_locked_at, seconds: after.last_lock_seconds }
        : undefined;
    const seconds = lockoutSeconds(this.d.settings, now, previous);
    const until = new Date(now.getTime() + seconds * 1000);
    if (await this.d.throttles.lock(sql, digest, now, until, now)) {
      await this.lockedEvent(sql, req, null, email, seconds, after.failed_attempts);
    }
    throw new AppError('ACCOUNT_LOCKED', { retryAfter: seconds });
  }

  private async fail(sql: Sql, req: RequestInfo, userId: string | null, email: string, reason: string): Promise<void> {
    this.d.metrics.loginFailure.inc({ reason });
    await this.d.events.emit(sql, req, { type: 'auth_failure', outcome: 'failure', userId, email, details: { reason } });
  }

  private async lockedEvent(sql: Sql, req: RequestInfo, userId: string | null, email: string, seconds: number, attempts: number) {
    this.d.metrics.accountLockouts.inc();
    await this.d.events.emit(sql, req, {
      type: 'account_lockout',
      outcome: 'failure',
      userId,
      email,
      details: { locked_seconds: seconds, failed_attempts: attempts, ...(userId ? {} : { unknown_account: true }) },
    });
  }
}
