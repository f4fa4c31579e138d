import type { Sql } from '../sql.js';
import type { RowOf } from '../row-types.js';
import type { RefreshTokenSchema } from '../entities/refresh-token.entity.js';
import type { UserRow } from './user.repository.js';

/** A refresh_tokens row as stored, derived from the entity. */
export type RefreshTokenRow = RowOf<typeof RefreshTokenSchema>;

export interface NewRefreshToken {
  id: string;
  userId: string;
  familyId: string;
  parentId: string | null;
  generation: number;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
  familyExpiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  amr: string | null;
}

/** One session (refresh family) as `sessions.list` shows it: its first token's columns and when it was last used. */
export type SessionRow = Pick<RefreshTokenRow, 'family_id' | 'created_at' | 'user_agent' | 'ip'> & {
  last_used_at: Date;
};

/** Enough for any chain of rotations in flight while a revocation runs; each pass is one indexed update. */
const MAX_REVOKE_PASSES = 10;

/** A new row's values in the column order both inserts below name. */
function columnValues(t: NewRefreshToken): unknown[] {
  return [
    t.id,
    t.userId,
    t.familyId,
    t.parentId,
    t.generation,
    t.tokenHash,
    t.createdAt,
    t.expiresAt,
    t.familyExpiresAt,
    t.userAgent,
    t.ip,
    t.amr,
  ];
}

export class RefreshTokenRepository {
  async insert(sql: Sql, t: NewRefreshToken): Promise<void> {
    await sql.all(
      `insert into refresh_tokens (id, user_id, family_id, parent_id, generation, token_hash, created_at, expires_at,
                                   family_expires_at, user_agent, ip, amr)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      columnValues(t),
    );
  }

  /**
   * The rest of a rotation after the claim, in one statement (one round
   * trip instead of three): inserts the successor only while its user is
   * active, prunes the family, and returns the user the new pair is issued
   * to, or undefined when the user is gone or disabled (then nothing is
   * inserted).
   *
   * Storage per session stays constant: after a rotation to `usedGeneration`+1
   * a family keeps its first row (when and where the session started), the
   * token just used and the live one. Older used rows are not needed to
   * recognise their replay: the token itself carries family and generation.
   */
  async insertSuccessor(sql: Sql, t: NewRefreshToken, usedGeneration: number): Promise<UserRow | undefined> {
    return sql.one<UserRow>(
      `with pruned as (
         delete from refresh_tokens where family_id = $3 and generation > 0 and generation < $13
       ), successor as (
         insert into refresh_tokens (id, user_id, family_id, parent_id, generation, token_hash, created_at, expires_at,
                                     family_expires_at, user_agent, ip, amr)
         select $1, u.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 from users u where u.id = $2 and u.is_active
         returning user_id
       )
       select u.* from users u join successor s on s.user_id = u.id`,
      [...columnValues(t), usedGeneration],
    );
  }

  async findByHash(sql: Sql, tokenHash: string): Promise<RefreshTokenRow | undefined> {
    return sql.one<RefreshTokenRow>('select * from refresh_tokens where token_hash = ?', [tokenHash]);
  }

  /**
   * The compare-and-swap of a rotation: marks the token used only if it is
   * still the family's live token. Under READ COMMITTED a concurrent rotation
   * of the same token waits on the row lock, then matches nothing, so exactly
   * one caller wins and creates the next generation.
   */
  async claimForRotation(sql: Sql, tokenHash: string, now: Date): Promise<RefreshTokenRow | undefined> {
    return sql.one<RefreshTokenRow>(
      `update refresh_tokens set used_at = ?
        where token_hash = ? and used_at is null and revoked_at is null and expires_at > ?
        returning *`,
      [now, tokenHash, now],
    );
  }

  /**
   * The family's one live token (not used, not revoked; it may have expired).
   * One probe of the partial unique index on family_id, whatever the history.
   */
  async findLive(sql: Sql, familyId: string): Promise<RefreshTokenRow | undefined> {
    return sql.one<RefreshTokenRow>(
      'select * from refresh_tokens where family_id = ? and used_at is null and revoked_at is null',
      [familyId],
    );
  }

  /**
   * Revokes every not-yet-revoked token of one family; returns whether any
   * was live. Repeated until a pass finds nothing left: a rotation that
   * committed while a pass waited on its row lock inserted a successor that
   * pass could not see (READ COMMITTED), and the next pass's fresh snapshot
   * does. Without it a refresh racing a logout left a live token behind.
   */
  async revokeFamily(sql: Sql, familyId: string, reason: string, now: Date): Promise<boolean> {
    return (await this.revokeFamilyOf(sql, familyId, reason, now)).ended;
  }

  /**
   * Serialises rotation and revocation of one session. A rotation holds the
   * family's lock shared for its transaction; a revocation takes it
   * exclusively, so it waits for rotations in flight to commit and then sees
   * their successors, and a rotation that starts later finds the family
   * revoked. Without it a client refreshing as fast as it can stayed one
   * generation ahead of a logout's passes and kept a live token.
   */
  async lockFamily(sql: Sql, familyId: string, mode: 'shared' | 'exclusive'): Promise<void> {
    if (mode === 'shared')
      await sql.all('select pg_advisory_xact_lock_shared(hashtextextended(?::text, 4242))', [familyId]);
    else await sql.all('select pg_advisory_xact_lock(hashtextextended(?::text, 4242))', [familyId]);
  }

  /** As revokeFamily, also naming the session's owner (undefined when nothing was left to revoke). */
  async revokeFamilyOf(
    sql: Sql,
    familyId: string,
    reason: string,
    now: Date,
  ): Promise<{ ended: boolean; userId: string | undefined }> {
    return sql.tx((tx) => this.revokeLockedFamily(tx, familyId, reason, now));
  }

  private async revokeLockedFamily(
    sql: Sql,
    familyId: string,
    reason: string,
    now: Date,
  ): Promise<{ ended: boolean; userId: string | undefined }> {
    await this.lockFamily(sql, familyId, 'exclusive');
    let live = false;
    let userId: string | undefined;
    for (let pass = 0; pass < MAX_REVOKE_PASSES; pass++) {
      const rows = await sql.all<{ user_id: string; live: boolean }>(
        `update refresh_tokens set revoked_at = ?, revoked_reason = ?
          where family_id = ? and revoked_at is null
          returning user_id, (used_at is null and expires_at > ?) as live`,
        [now, reason, familyId, now],
      );
      live ||= rows.some((r) => r.live);
      userId ??= rows[0]?.user_id;
      if (rows.length === 0) break;
    }
    return { ended: live, userId };
  }

  /** Revokes every live session of a user (optionally but one) under each session's lock; returns sessions ended. */
  async revokeAllForUser(
    sql: Sql,
    userId: string,
    reason: string,
    now: Date,
    exceptFamilyId?: string,
  ): Promise<number> {
    return sql.tx((tx) => this.revokeLockedSessionsOf(tx, userId, reason, now, exceptFamilyId));
  }

  private async revokeLockedSessionsOf(
    sql: Sql,
    userId: string,
    reason: string,
    now: Date,
    exceptFamilyId?: string,
  ): Promise<number> {
    // Each session's lock, in a fixed order (two revocations never wait on each other in a circle), so
    // rotations in flight commit first and later ones find their session revoked, as for one session.
    const families = await sql.all<{ family_id: string }>(
      `select distinct family_id from refresh_tokens
        where user_id = ? and revoked_at is null and (?::uuid is null or family_id <> ?::uuid)
        order by family_id`,
      [userId, exceptFamilyId ?? null, exceptFamilyId ?? null],
    );
    for (const f of families) await this.lockFamily(sql, f.family_id, 'exclusive');
    const ended = new Set<string>();
    for (let pass = 0; pass < MAX_REVOKE_PASSES; pass++) {
      const rows = await sql.all<{ family_id: string; live: boolean }>(
        `update refresh_tokens set revoked_at = ?, revoked_reason = ?
          where user_id = ? and revoked_at is null and (?::uuid is null or family_id <> ?::uuid)
          returning family_id, (used_at is null and expires_at > ?) as live`,
        [now, reason, userId, exceptFamilyId ?? null, exceptFamilyId ?? null, now],
      );
      for (const r of rows) if (r.live) ended.add(r.family_id);
      if (rows.length === 0) break;
    }
    return ended.size;
  }

  /** Live sessions of a user: one row per family with a live token. */
  async listSessions(sql: Sql, userId: string, now: Date): Promise<SessionRow[]> {
    return sql.all<SessionRow>(
      `select live.family_id, first.created_at, live.created_at as last_used_at, first.user_agent, first.ip
         from refresh_tokens live
         join refresh_tokens first on first.family_id = live.family_id and first.generation = 0
        where live.user_id = ? and live.revoked_at is null and live.used_at is null and live.expires_at > ?
        order by live.created_at desc`,
      [userId, now],
    );
  }

  async familyBelongsTo(sql: Sql, familyId: string, userId: string): Promise<boolean> {
    const row = await sql.one('select 1 from refresh_tokens where family_id = ? and user_id = ? limit 1', [
      familyId,
      userId,
    ]);
    return row !== undefined;
  }

  /**
   * One batch of the retention pass: rows of sessions that ended before
   * `endedBefore`, by revocation (logout, revoke, reuse) or because their
   * live token expired unused. Returns the rows deleted.
   */
  async deleteEnded(sql: Sql, endedBefore: Date, limit: number): Promise<number> {
    const revoked = await sql.all(
      'delete from refresh_tokens where id in (select id from refresh_tokens where revoked_at < ? limit ?) returning id',
      [endedBefore, limit],
    );
    const expired = await sql.all(
      `delete from refresh_tokens where family_id in (
         select family_id from refresh_tokens where used_at is null and revoked_at is null and expires_at < ? limit ?)
       returning id`,
      [endedBefore, limit],
    );
    return revoked.length + expired.length;
  }
}
