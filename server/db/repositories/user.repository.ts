import type { Sql } from '../sql.js';
import type { RowOf } from '../row-types.js';
import type { UserSchema } from '../entities/user.entity.js';

/** A users row as stored (snake_case columns), derived from the entity. */
export type UserRow = RowOf<typeof UserSchema>;

/**
 * The caller of an authenticated request: the columns requests need and
 * nothing else (no password hash travels into the request context).
 */
export type SessionUser = Pick<
  UserRow,
  | 'id'
  | 'email'
  | 'full_name'
  | 'email_verified_at'
  | 'is_superuser'
  | 'session_version'
  | 'password_changed_at'
  | 'created_at'
>;

/** What an access token claims about its session: checked against the live rows on every call. */
export interface SessionCheck {
  userId: string;
  sessionVersion: number;
  familyId: string;
}

export class UserRepository {
  async findByEmail(sql: Sql, email: string): Promise<UserRow | undefined> {
    return sql.one<UserRow>('select * from users where email = ?', [email]);
  }

  async findById(sql: Sql, id: string): Promise<UserRow | undefined> {
    return sql.one<UserRow>('select * from users where id = ?', [id]);
  }

  /** Locks the row for the rest of the transaction. */
  async lockById(sql: Sql, id: string): Promise<UserRow | undefined> {
    return sql.one<UserRow>('select * from users where id = ? for update', [id]);
  }

  /** Inserts a user; returns undefined when the email is taken (unique index, no race). */
  async insert(
    sql: Sql,
    u: {
      id: string;
      email: string;
      hashedPassword: string;
      fullName: string | null;
      verified: boolean;
      isSuperuser?: boolean;
    },
  ): Promise<UserRow | undefined> {
    return sql.one<UserRow>(
      `insert into users (id, email, hashed_password, full_name, email_verified_at, is_superuser, password_changed_at)
       values (?, ?, ?, ?, case when ? then now() else null end, ?, now())
       on conflict (email) do nothing returning *`,
      [u.id, u.email, u.hashedPassword, u.fullName, u.verified, u.isSuperuser ?? false],
    );
  }

  /**
   * The per-request session check (docs/tokens.md), for one call or for
   * several checked at the same moment (SessionCheckBatcher), in one indexed
   * statement: the user is active, the token's session_version is current,
   * and its session (refresh family) has a live token. Row `ord` (1-based)
   * answers `checks[ord - 1]`; a check without a row failed.
   */
  async findForSessions(
    sql: Sql,
    checks: readonly SessionCheck[],
    now: Date,
  ): Promise<Array<SessionUser & { ord: string }>> {
    return sql.all<SessionUser & { ord: string }>(
      `select c.ord, u.id, u.email, u.full_name, u.email_verified_at, u.is_superuser, u.session_version,
              u.password_changed_at, u.created_at
         from unnest(?::uuid[], ?::int[], ?::uuid[]) with ordinality as c(user_id, sv, family_id, ord)
         join users u on u.id = c.user_id and u.is_active and u.session_version = c.sv
        where exists (select 1 from refresh_tokens r
                       where r.family_id = c.family_id and r.user_id = u.id and r.revoked_at is null
                         and r.used_at is null and r.expires_at > ?)`,
      [checks.map((c) => c.userId), checks.map((c) => c.sessionVersion), checks.map((c) => c.familyId), now],
    );
  }

  async markVerified(sql: Sql, id: string): Promise<void> {
    await sql.all(
      'update users set email_verified_at = coalesce(email_verified_at, now()), updated_at = now() where id = ?',
      [id],
    );
  }

  /**
   * Writes the failure count and lock decided under the row lock (see
   * CredentialVerifier.recordFailure): callers hold `lockById` in the same
   * transaction, so concurrent failures are counted one after another.
   */
  async setFailures(sql: Sql, id: string, failedAttempts: number, lockedUntil: Date | null, now: Date): Promise<void> {
    await sql.all(
      'update users set failed_attempts = ?, locked_until = ?, last_failed_at = ?, updated_at = now() where id = ?',
      [failedAttempts, lockedUntil, now, id],
    );
  }

  async clearLock(sql: Sql, id: string): Promise<void> {
    await sql.all('update users set failed_attempts = 0, locked_until = null, updated_at = now() where id = ?', [id]);
  }

  /** A successful login; callers checked under the row lock that no lock is active. */
  async recordLogin(sql: Sql, id: string, newHash?: string): Promise<void> {
    await sql.all(
      `update users set failed_attempts = 0, locked_until = null, last_login_at = now(), updated_at = now(),
              hashed_password = coalesce(?, hashed_password)
        where id = ?`,
      [newHash ?? null, id],
    );
  }

  /** Stores a stronger hash of the same password (not a password change: password_changed_at stays). */
  async rehash(sql: Sql, id: string, hashedPassword: string): Promise<void> {
    await sql.all('update users set hashed_password = ?, updated_at = now() where id = ?', [hashedPassword, id]);
  }

  /** New password: bumps session_version so every access token issued before is refused. */
  async setPassword(sql: Sql, id: string, hashedPassword: string, opts: { clearLock?: boolean } = {}): Promise<number> {
    const row = await sql.one<{ session_version: number }>(
      `update users set hashed_password = ?, password_changed_at = now(), session_version = session_version + 1,
              updated_at = now(),
              failed_attempts = case when ? then 0 else failed_attempts end,
              locked_until = case when ? then null else locked_until end
        where id = ? returning session_version`,
      [hashedPassword, opts.clearLock ?? false, opts.clearLock ?? false, id],
    );
    return row!.session_version;
  }

  async setFlags(sql: Sql, id: string, flags: { isActive?: boolean; isSuperuser?: boolean }): Promise<boolean> {
    const row = await sql.one(
      `update users set is_active = coalesce(?, is_active), is_superuser = coalesce(?, is_superuser),
              session_version = session_version + 1, updated_at = now()
        where id = ? returning id`,
      [flags.isActive ?? null, flags.isSuperuser ?? null, id],
    );
    return row !== undefined;
  }

  async countActive(sql: Sql): Promise<number> {
    const row = await sql.one<{ n: string }>('select count(*) as n from users where is_active');
    return Number(row?.n ?? 0);
  }

  /**
   * Keyset pagination on (created_at, id): stable while rows are added.
   * created_at is compared at millisecond precision because the cursor
   * carries a JS Date: PostgreSQL keeps microseconds, and comparing those
   * against a truncated cursor would repeat the last row of a page.
   */
  async list(
    sql: Sql,
    opts: { query?: string; after?: { createdAt: Date; id: string }; limit: number },
  ): Promise<UserRow[]> {
    return sql.all<UserRow>(
      `select * from users
        where ($1::text is null or position($1 in email) > 0)
          and ($2::timestamptz is null or (date_trunc('milliseconds', created_at), id) > ($2, $3::uuid))
        order by date_trunc('milliseconds', created_at), id
        limit $4`,
      [opts.query?.toLowerCase() ?? null, opts.after?.createdAt ?? null, opts.after?.id ?? null, opts.limit],
    );
  }
}
