import { randomBytes, randomUUID } from 'node:crypto';
import type { AdminUser, PagedResult, SecurityEventItem } from '../../shared/dto.js';
import type { MfaFactorRepository } from '../db/repositories/mfa-factor.repository.js';
import type { LockoutRepository, LoginThrottleRepository } from '../db/repositories/lockout.repository.js';
import type { SecurityEventRepository, SecurityEventRow } from '../db/repositories/security-event.repository.js';
import type { UserRepository, UserRow } from '../db/repositories/user.repository.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { Clock } from '../security/clock.js';
import type { Keyring } from '../security/keyring.js';
import type { PasswordHasher } from '../security/password-hasher.js';
import type { AuthService } from './auth.service.js';
import type { MfaService } from './mfa.service.js';
import { normaliseEmail, isStorableEmail } from './email-normaliser.js';
import type { PasswordPolicy } from './password-policy.js';
import type { SessionService } from './session.service.js';
import { toAdminUser } from './user-dto.js';

/**
 * Who performs an admin action: a superuser over the API (`id` is their
 * user id), or an operator at the CLI (`id` is null, `label` names the OS
 * account, e.g. `cli:alice`). Every action is written to the audit trail
 * with both the actor and the target.
 */
export interface AdminActor {
  id: string | null;
  label: string;
  via: 'api' | 'cli';
}

export const DEFAULT_PAGE_SIZE = 50;

export interface AdminDeps {
  clock: Clock;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  keyring: Keyring;
  users: UserRepository;
  lockouts: LockoutRepository;
  throttles: LoginThrottleRepository;
  securityEvents: SecurityEventRepository;
  sessions: SessionService;
  auth: AuthService;
  events: SecurityEvents;
  factors: MfaFactorRepository;
  mfa: MfaService;
}

interface Cursor {
  t: string;
  i: string;
}

/**
 * Opaque keyset cursors: base64url(JSON {t: created_at, i: id}). Opaque so
 * clients cannot build one by hand and depend on its shape; keyset (not
 * offset) so a page boundary does not move when rows are added.
 */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify({ t: createdAt.toISOString(), i: id } satisfies Cursor)).toString('base64url');
}

export function decodeCursor(raw: string): { createdAt: Date; id: string } {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Cursor>;
    const createdAt = new Date(String(c.t));
    if (typeof c.i !== 'string' || !/^[0-9a-f-]{36}$/i.test(c.i) || Number.isNaN(createdAt.getTime()))
      throw new Error('shape');
    return { createdAt, id: c.i };
  } catch {
    throw new AppError('INVALID_INPUT', { field: 'cursor', message: 'Invalid input at "cursor": unknown cursor' });
  }
}

function toSecurityEventItem(r: SecurityEventRow): SecurityEventItem {
  return {
    id: r.id,
    eventType: r.event_type,
    severity: r.severity,
    outcome: r.outcome,
    userId: r.user_id,
    ip: r.ip,
    createdAt: r.created_at.toISOString(),
    details: r.details,
  };
}

/**
 * The operator's tools, shared by the admin API and the CLI so there is one
 * implementation of each (unlock, revoke, force reset ...). Actions that
 * change what a user may do bump session_version, so the user's live access
 * tokens are refused at once rather than at expiry.
 */
export class AdminService {
  constructor(private readonly d: AdminDeps) {}

  async listUsers(
    sql: Sql,
    actor: AdminActor,
    input: { query?: string; cursor?: string; limit?: number },
    req: RequestInfo,
  ): Promise<PagedResult<AdminUser>> {
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const query = input.query ? normaliseEmail(input.query) : undefined;
    const after = input.cursor ? decodeCursor(input.cursor) : undefined;
    // One extra row tells whether another page exists without a count query.
    const rows = await this.d.users.list(sql, { query: query || undefined, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const withFactors = await this.d.factors.usersWithFactors(
      sql,
      page.map((u) => u.id),
    );
    await this.audit(sql, req, actor, 'users.list', null, {
      results: page.length,
      filtered: Boolean(query),
      paged: Boolean(after),
    });
    return {
      items: page.map((u) => toAdminUser(u, withFactors.has(u.id))),
      nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  async getUser(
    sql: Sql,
    actor: AdminActor,
    by: { userId: string } | { email: string },
    req: RequestInfo,
  ): Promise<AdminUser> {
    const user = await this.find(sql, by);
    await this.audit(sql, req, actor, 'users.get', user);
    return toAdminUser(user, (await this.d.factors.countConfirmed(sql, user.id)) > 0);
  }

  /** Resolves a user by id or email, or throws NOT_FOUND. */
  async find(sql: Sql, by: { userId: string } | { email: string }): Promise<UserRow> {
    const user =
      'userId' in by
        ? await this.d.users.findById(sql, by.userId)
        : await this.d.users.findByEmail(sql, normaliseEmail(by.email));
    if (!user) throw new AppError('NOT_FOUND', { message: 'No such user' });
    return user;
  }

  /**
   * Ends a lockout: clears the user's counters and marks the open `lockouts`
   * rows released by this actor. The rows themselves stay: the next lockout
   * within 24 h still doubles (an attacker gains nothing from an unlock).
   */
  /** Ends a lockout; answers the state it found under the row lock (what the caller prints is what it changed). */
  async unlock(
    sql: Sql,
    actor: AdminActor,
    userId: string,
    req: RequestInfo,
  ): Promise<{ wasLocked: boolean; lockedUntil: Date | null; failedAttempts: number; released: number }> {
    const now = this.d.clock.now();
    const result = await sql.tx(async (tx) => {
      const user = await this.d.users.lockById(tx, userId);
      if (!user) throw new AppError('NOT_FOUND', { message: 'No such user' });
      await this.d.users.clearLock(tx, user.id);
      const released = await this.d.lockouts.release(tx, user.id, actor.label.slice(0, 64), now);
      const wasLocked = user.locked_until !== null && user.locked_until > now;
      // The audit row commits with the action or not at all.
      await this.audit(tx, req, actor, 'users.unlock', user, {
        was_locked: wasLocked,
        released_lockouts: released,
        failed_attempts: user.failed_attempts,
      });
      return { user, wasLocked, released };
    });
    const { user, wasLocked, released } = result;
    if (wasLocked || released > 0) {
      await this.d.events.emit(sql, req, {
        type: 'account_unlocked',
        outcome: 'success',
        userId: user.id,
        email: user.email,
        details: { released_by: actor.label, actor_id: actor.id, via: actor.via },
      });
    }
    return {
      wasLocked,
      lockedUntil: wasLocked ? user.locked_until : null,
      failedAttempts: user.failed_attempts,
      released,
    };
  }

  async setSuperuser(
    sql: Sql,
    actor: AdminActor,
    userId: string,
    isSuperuser: boolean,
    req: RequestInfo,
  ): Promise<void> {
    // Refusing self-demotion keeps a lone superuser from locking everyone
    // out of the admin API by mistake (the CLI can still do it).
    if (!isSuperuser && actor.id === userId) {
      throw new AppError('INVALID_INPUT', { field: 'userId', message: 'A superuser cannot demote themselves' });
    }
    const user = await this.find(sql, { userId });
    // setFlags bumps session_version: access tokens carrying the old `adm`
    // claim die now; the next refresh issues one with the new claim.
    await sql.tx(async (tx) => {
      await this.d.users.setFlags(tx, user.id, { isSuperuser });
      await this.audit(tx, req, actor, isSuperuser ? 'users.promote' : 'users.demote', user, {
        from: user.is_superuser,
        to: isSuperuser,
      });
    });
  }

  async setActive(
    sql: Sql,
    actor: AdminActor,
    userId: string,
    isActive: boolean,
    req: RequestInfo,
  ): Promise<{ revoked: number }> {
    if (!isActive && actor.id === userId) {
      throw new AppError('INVALID_INPUT', { field: 'userId', message: 'A superuser cannot disable themselves' });
    }
    const user = await this.find(sql, { userId });
    const revoked = await sql.tx(async (tx) => {
      await this.d.users.setFlags(tx, user.id, { isActive });
      // A disabled account's sessions end for good: re-enabling it must not
      // bring back refresh tokens that were out of the owner's hands meanwhile.
      const ended = isActive ? 0 : await this.d.sessions.revokeAll(tx, user.id, req, undefined, 'user_disabled');
      await this.audit(tx, req, actor, isActive ? 'users.enable' : 'users.disable', user, {
        from: user.is_active,
        to: isActive,
        ...(isActive ? {} : { revoked_sessions: ended }),
      });
      return ended;
    });
    return { revoked };
  }

  async revokeSessions(sql: Sql, actor: AdminActor, userId: string, req: RequestInfo): Promise<number> {
    const user = await this.find(sql, { userId });
    // Ending the refresh families is enough: every access token names its
    // family (sid) and the per-request check needs it live.
    return sql.tx(async (tx) => {
      const revoked = await this.d.sessions.revokeAll(tx, user.id, req, undefined, 'admin');
      await this.audit(tx, req, actor, 'users.revokeSessions', user, { revoked_sessions: revoked });
      return revoked;
    });
  }

  /**
   * Turns two-step sign-in off for a user who lost every factor: removes
   * their factors and recovery codes, ends their sessions and pending
   * second-factor challenges, and tells them by mail. The event row is
   * written in the same transaction as the reset.
   */
  async resetMfa(
    sql: Sql,
    actor: AdminActor,
    userId: string,
    req: RequestInfo,
  ): Promise<{ removed: number; revoked: number }> {
    const user = await this.find(sql, { userId });
    return sql.tx(async (tx) => {
      const result = await this.d.mfa.resetAll(tx, user, req, actor.label);
      await this.audit(tx, req, actor, 'users.resetMfa', user, {
        removed_factors: result.removed,
        revoked_sessions: result.revoked,
      });
      return result;
    });
  }

  /**
   * Makes the password unusable, ends every session, and mails a reset link.
   * "Unusable" is a scrypt hash of 256 random bits nobody keeps, not a marker
   * value: a login attempt costs the same time as for any account, so the
   * forced reset cannot be detected from outside by timing.
   */
  async forcePasswordReset(
    sql: Sql,
    actor: AdminActor,
    userId: string,
    req: RequestInfo,
  ): Promise<{ revoked: number; emailSent: boolean }> {
    const user = await this.find(sql, { userId });
    const unusable = await this.d.hasher.hash(randomBytes(32).toString('base64url'));
    const { revoked, emailSent } = await sql.tx(async (tx) => {
      await this.d.users.setPassword(tx, user.id, unusable);
      // Older reset links die here, an inactive account's too; an active one
      // is mailed a new link (queued in the outbox, retried).
      const emailSent = await this.d.auth.issueForcedReset(tx, user);
      const revoked = await this.d.sessions.revokeAll(tx, user.id, req, undefined, 'password_reset');
      await this.audit(tx, req, actor, 'users.forcePasswordReset', user, {
        revoked_sessions: revoked,
        email_sent: emailSent,
      });
      return { revoked, emailSent };
    });
    return { revoked, emailSent };
  }

  /**
   * Creates a verified superuser (the CLI's bootstrap). An existing email is
   * refused rather than overwritten: taking over an account's password is
   * `force-reset` plus `promote`, each audited on its own.
   */
  async createSuperuser(
    sql: Sql,
    actor: AdminActor,
    rawEmail: string,
    password: string,
    req: RequestInfo,
  ): Promise<AdminUser> {
    const email = normaliseEmail(rawEmail);
    // The same check as sign-up: NFKC may have turned the input into
    // something that is not one plain address.
    if (!isStorableEmail(email))
      throw new AppError('INVALID_INPUT', { field: 'email', message: 'not a valid email address' });
    const reason = this.d.policy.check(password, email);
    if (reason) throw new AppError('WEAK_PASSWORD', { reason, message: `password refused: ${reason}` });
    const hashedPassword = await this.d.hasher.hash(password);
    const user = await sql.tx(async (tx) => {
      const created = await this.d.users.insert(tx, {
        id: randomUUID(),
        email,
        hashedPassword,
        fullName: null,
        verified: true,
        isSuperuser: true,
      });
      if (created) {
        await this.d.throttles.delete(tx, this.d.keyring.lookupDigest('login-throttle', email));
        await this.audit(tx, req, actor, 'users.createSuperuser', created);
      }
      return created;
    });
    if (!user) throw new AppError('EMAIL_TAKEN', { message: 'A user with this email already exists' });
    return toAdminUser(user, false);
  }

  async listSecurityEvents(
    sql: Sql,
    actor: AdminActor,
    input: { userId?: string; type?: string; since?: string; cursor?: string; limit?: number },
    req: RequestInfo,
  ): Promise<PagedResult<SecurityEventItem>> {
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const before = input.cursor ? decodeCursor(input.cursor) : undefined;
    const since = input.since ? new Date(input.since) : undefined;
    // Newest first, keyset on (created_at, id): events written while an
    // operator pages appear before page one, never inside a later page.
    const rows = await this.d.securityEvents.list(sql, {
      userId: input.userId,
      type: input.type,
      since,
      before,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    // Audited after the read so the listing does not contain its own entry.
    await this.audit(sql, req, actor, 'securityEvents.list', null, {
      results: page.length,
      ...(input.userId ? { filter_user_id: input.userId } : {}),
      ...(input.type ? { filter_type: input.type } : {}),
    });
    return {
      items: page.map(toSecurityEventItem),
      nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  /** The `admin_action` audit event: who did what to whom. */
  private async audit(
    sql: Sql,
    req: RequestInfo,
    actor: AdminActor,
    action: string,
    target: UserRow | null,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await this.d.events.emit(sql, req, {
      type: 'admin_action',
      outcome: 'success',
      userId: target?.id ?? null,
      email: target?.email ?? null,
      details: { action, actor_id: actor.id ?? actor.label, via: actor.via, target_id: target?.id ?? null, ...extra },
    });
  }
}
