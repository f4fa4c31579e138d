import { randomUUID } from 'node:crypto';
import type { Sql } from '../sql.js';
import type { RowOf } from '../row-types.js';
import type { LoginThrottleSchema } from '../entities/login-throttle.entity.js';

export interface LastLock {
  lockedAt: Date;
  seconds: number;
}

export class LockoutRepository {
  /** The most recent lockout of a user (admin release does not erase it). */
  async last(sql: Sql, userId: string): Promise<LastLock | undefined> {
    const row = await sql.one<{ locked_at: Date; locked_until: Date }>(
      'select locked_at, locked_until from lockouts where user_id = ? order by locked_at desc limit 1',
      [userId],
    );
    return row && { lockedAt: row.locked_at, seconds: (row.locked_until.getTime() - row.locked_at.getTime()) / 1000 };
  }

  async insert(
    sql: Sql,
    l: { userId: string; failedAttempts: number; lockedAt: Date; lockedUntil: Date; sourceIp: string | null },
  ): Promise<void> {
    await sql.all(
      'insert into lockouts (id, user_id, failed_attempts, locked_at, locked_until, source_ip) values (?, ?, ?, ?, ?, ?)',
      [randomUUID(), l.userId, l.failedAttempts, l.lockedAt, l.lockedUntil, l.sourceIp],
    );
  }

  /** Marks open lockouts released: by 'expiry' or by an admin id. */
  async release(sql: Sql, userId: string, by: string, now: Date): Promise<number> {
    const rows = await sql.all(
      'update lockouts set released_at = ?, released_by = ? where user_id = ? and released_at is null returning id',
      [now, by, userId],
    );
    return rows.length;
  }
}

/** The counters of one unknown email's throttle (login_throttles). */
export type ThrottleRow = Pick<
  RowOf<typeof LoginThrottleSchema>,
  'failed_attempts' | 'locked_until' | 'last_locked_at' | 'last_lock_seconds'
>;

/** Lockout state for emails with no account (see login-throttle.entity). */
export class LoginThrottleRepository {
  async get(sql: Sql, digest: string): Promise<ThrottleRow | undefined> {
    return sql.one<ThrottleRow>(
      `select failed_attempts, locked_until, last_locked_at, last_lock_seconds from login_throttles where email_digest = ?`,
      [digest],
    );
  }

  /**
   * The throttle row of an address, created if missing, locked for the rest
   * of the transaction: concurrent failures for one address are counted one
   * after another, as a user row's are (see CredentialVerifier).
   */
  async lockForUpdate(sql: Sql, digest: string): Promise<ThrottleRow & { updated_at: Date }> {
    await sql.all('insert into login_throttles (email_digest) values (?) on conflict (email_digest) do nothing', [
      digest,
    ]);
    return (await sql.one<ThrottleRow & { updated_at: Date }>(
      `select failed_attempts, locked_until, last_locked_at, last_lock_seconds, updated_at
         from login_throttles where email_digest = ? for update`,
      [digest],
    ))!;
  }

  /** Writes the count and lock decided under the row lock; `lock` also records it for the doubling. */
  async setFailures(
    sql: Sql,
    digest: string,
    failedAttempts: number,
    lock: { lockedAt: Date; until: Date } | null,
    now: Date,
  ): Promise<void> {
    await sql.all(
      `update login_throttles set failed_attempts = ?, locked_until = ?,
              last_locked_at = coalesce(?, last_locked_at), last_lock_seconds = coalesce(?, last_lock_seconds), updated_at = ?
        where email_digest = ?`,
      [
        failedAttempts,
        lock?.until ?? null,
        lock?.lockedAt ?? null,
        lock ? Math.round((lock.until.getTime() - lock.lockedAt.getTime()) / 1000) : null,
        now,
        digest,
      ],
    );
  }

  /**
   * Forgets unknown-email throttles untouched for a day and not locked: past
   * 24 h a row no longer affects the doubling, and without pruning an
   * attacker spraying random addresses would grow this table for ever.
   */
  async prune(sql: Sql, olderThan: Date): Promise<number> {
    const rows = await sql.all(
      'delete from login_throttles where updated_at < ? and (locked_until is null or locked_until < ?) returning email_digest',
      [olderThan, olderThan],
    );
    return rows.length;
  }

  /** A registration of this email ends its anonymous throttle. */
  async delete(sql: Sql, digest: string): Promise<void> {
    await sql.all('delete from login_throttles where email_digest = ?', [digest]);
  }
}
