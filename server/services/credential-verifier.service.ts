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

type FailureOutcome =
  | { kind: 'counted'; attempts: number }
  | { kind: 'locked'; until: Date }
  | { kind: 'locked_now'; seconds: number; attempts: number };

const STREAK_IDLE_MS = 24 * 3600 * 1000;

/**
 * The failure count after one more failure. A lock that has expired starts
 * a new streak, and so does a streak idle for a day: known and unknown
 * addresses decay alike (unknown ones are also pruned after a day idle).
 */
function nextCount(failedAttempts: number, lockedUntil: Date | null, lastFailedAt: Date | null, now: Date): number {
  const idle = lastFailedAt !== null && now.getTime() - lastFailedAt.getTime() >= STREAK_IDLE_MS;
  return lockedUntil !== null || idle ? 1 : failedAttempts + 1;
}

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

  /**
   * Resolves when the password is right and the account active; throws
   * INVALID_CREDENTIALS or ACCOUNT_LOCKED. A right password does not by
   * itself end a lock: the caller acts on it under the user's row lock and
   * refuses a lock it finds there (see `activeLock`).
   */
  async verify(sql: Sql, email: string, user: UserRow | undefined, password: string, req: RequestInfo): Promise<void> {
    if (user) return this.verifyKnown(sql, user, password, req);
    return this.verifyUnknown(sql, email, password, req);
  }

  /**
   * The lock a caller finds after a right password, read under the user's
   * row lock in the transaction that would act on the password: a lock set
   * by a burst of failures while this password was hashed is seen here. An
   * expired lock ends here instead, and its lockouts row is released.
   */
  async activeLock(tx: Sql, current: UserRow): Promise<Date | undefined> {
    const now = this.d.clock.now();
    if (current.locked_until && current.locked_until > now) return current.locked_until;
    if (current.locked_until) await this.d.lockouts.release(tx, current.id, 'expiry', now);
    return undefined;
  }

  /** The answer to a right password on a locked account: refused, counted as nothing, the lock kept. */
  async refuseLocked(sql: Sql, user: { id: string; email: string }, until: Date, req: RequestInfo): Promise<never> {
    await this.fail(sql, req, user.id, user.email, 'locked');
    throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(until, this.d.clock.now()) });
  }

  private async verifyKnown(sql: Sql, user: UserRow, password: string, req: RequestInfo): Promise<void> {
    const now = this.d.clock.now();
    if (user.locked_until && user.locked_until > now) {
      // While locked even the right password is refused, and no hash is spent.
      await this.fail(sql, req, user.id, user.email, 'locked');
      throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(user.locked_until, now) });
    }
    const right = await this.d.hasher.verify(user.hashed_password, password);
    if (right && user.is_active) return;
    // A right password on an inactive account counts like a wrong one: were
    // it not counted, the answer at the threshold would tell a guesser that
    // this guess was the password.
    return this.recordFailure(sql, { id: user.id, email: user.email }, req, right ? 'inactive' : 'bad_password');
  }

  /**
   * Counts one failed check of an account's secret and throws its answer.
   * The count and the lock are decided under the user's row lock, so
   * concurrent failures (one burst over several replicas) are counted one
   * after another and the answer comes from the state after this failure:
   * at most THRESHOLD-1 of them answer INVALID_CREDENTIALS.
   */
  async recordFailure(
    sql: Sql,
    target: { id: string; email: string },
    req: RequestInfo,
    reason: string,
  ): Promise<never> {
    const now = this.d.clock.now();
    const outcome = await this.countFailure(sql, target.id, req, now);
    return this.answer(sql, req, target.id, target.email, reason, outcome, now);
  }

  /**
   * Counts a wrong second-factor answer exactly like a wrong password: the
   * same counter under the same row lock, the same lockout, so a stolen
   * password does not buy unlimited guesses at the second factor. Throws
   * ACCOUNT_LOCKED when the account is or becomes locked; otherwise returns
   * and the caller refuses the answer.
   */
  async recordSecondFactorFailure(sql: Sql, user: UserRow, req: RequestInfo, reason: string): Promise<void> {
    const now = this.d.clock.now();
    const outcome = await this.countFailure(sql, user.id, req, now);
    this.d.metrics.loginFailure.inc({ reason });
    switch (outcome.kind) {
      case 'counted':
        return;
      case 'locked':
        throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(outcome.until, now) });
      case 'locked_now':
        await this.lockedEvent(sql, req, user.id, user.email, outcome.seconds, outcome.attempts);
        throw new AppError('ACCOUNT_LOCKED', { retryAfter: outcome.seconds });
    }
  }

  /** One failure counted, and the lock decided, under the user's row lock. */
  private async countFailure(sql: Sql, userId: string, req: RequestInfo, now: Date): Promise<FailureOutcome> {
    return sql.tx(async (tx): Promise<FailureOutcome> => {
      const row = await this.d.users.lockById(tx, userId);
      if (!row) return { kind: 'counted', attempts: 0 };
      if (row.locked_until && row.locked_until > now) return { kind: 'locked', until: row.locked_until };
      if (row.locked_until) await this.d.lockouts.release(tx, row.id, 'expiry', now);
      const attempts = nextCount(row.failed_attempts, row.locked_until, row.last_failed_at, now);
      if (!reachesThreshold(this.d.settings, attempts)) {
        await this.d.users.setFailures(tx, row.id, attempts, null, now);
        return { kind: 'counted', attempts };
      }
      const seconds = lockoutSeconds(this.d.settings, now, await this.d.lockouts.last(tx, row.id));
      const until = new Date(now.getTime() + seconds * 1000);
      await this.d.users.setFailures(tx, row.id, attempts, until, now);
      await this.d.lockouts.insert(tx, {
        userId: row.id,
        failedAttempts: attempts,
        lockedAt: now,
        lockedUntil: until,
        sourceIp: req.ip,
      });
      await this.d.mailer.enqueue(tx, { kind: 'account_locked', to: row.email, minutes: Math.ceil(seconds / 60) });
      return { kind: 'locked_now', seconds, attempts };
    });
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
    await this.d.hasher.verifyDummy(password);

    // The same counting as for an account, on the address's throttle row.
    const outcome = await sql.tx(async (tx): Promise<FailureOutcome> => {
      const row = await this.d.throttles.lockForUpdate(tx, digest);
      if (row.locked_until && row.locked_until > now) return { kind: 'locked', until: row.locked_until };
      const attempts = nextCount(row.failed_attempts, row.locked_until, row.updated_at, now);
      if (!reachesThreshold(this.d.settings, attempts)) {
        await this.d.throttles.setFailures(tx, digest, attempts, null, now);
        return { kind: 'counted', attempts };
      }
      const previous =
        row.last_locked_at && row.last_lock_seconds !== null
          ? { lockedAt: row.last_locked_at, seconds: row.last_lock_seconds }
          : undefined;
      const seconds = lockoutSeconds(this.d.settings, now, previous);
      const until = new Date(now.getTime() + seconds * 1000);
      await this.d.throttles.setFailures(tx, digest, attempts, { lockedAt: now, until }, now);
      return { kind: 'locked_now', seconds, attempts };
    });
    return this.answer(sql, req, null, email, 'unknown_email', outcome, now);
  }

  private async answer(
    sql: Sql,
    req: RequestInfo,
    userId: string | null,
    email: string,
    reason: string,
    outcome: FailureOutcome,
    now: Date,
  ): Promise<never> {
    await this.fail(sql, req, userId, email, outcome.kind === 'locked' ? 'locked' : reason);
    switch (outcome.kind) {
      case 'counted':
        throw new AppError('INVALID_CREDENTIALS');
      case 'locked':
        throw new AppError('ACCOUNT_LOCKED', { retryAfter: secondsUntil(outcome.until, now) });
      case 'locked_now':
        await this.lockedEvent(sql, req, userId, email, outcome.seconds, outcome.attempts);
        throw new AppError('ACCOUNT_LOCKED', { retryAfter: outcome.seconds });
    }
  }

  private async fail(sql: Sql, req: RequestInfo, userId: string | null, email: string, reason: string): Promise<void> {
    this.d.metrics.loginFailure.inc({ reason });
    await this.d.events.emit(sql, req, {
      type: 'auth_failure',
      outcome: 'failure',
      userId,
      email,
      details: { reason },
    });
  }

  private async lockedEvent(
    sql: Sql,
    req: RequestInfo,
    userId: string | null,
    email: string,
    seconds: number,
    attempts: number,
  ) {
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
