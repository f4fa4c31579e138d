import type { MfaChallengeSchema } from '../entities/mfa-challenge.entity.js';
import type { RowOf } from '../row-types.js';
import type { Sql } from '../sql.js';

/** An mfa_challenges row as stored, derived from the entity. */
export type MfaChallengeRow = RowOf<typeof MfaChallengeSchema>;

export class MfaChallengeRepository {
  async insert(
    sql: Sql,
    c: { id: string; tokenHash: string; userId: string; passwordChangedAt: Date | null; expiresAt: Date },
  ): Promise<void> {
    await sql.all(
      'insert into mfa_challenges (id, token_hash, user_id, password_changed_at, expires_at) values (?, ?, ?, ?, ?)',
      [c.id, c.tokenHash, c.userId, c.passwordChangedAt, c.expiresAt],
    );
  }

  /** A challenge that can still be answered: unused, unexpired, with wrong answers to spare. */
  async findLive(sql: Sql, tokenHash: string, maxAttempts: number, now: Date): Promise<MfaChallengeRow | undefined> {
    return sql.one<MfaChallengeRow>(
      'select * from mfa_challenges where token_hash = ? and used_at is null and expires_at > ? and attempts < ?',
      [tokenHash, now, maxAttempts],
    );
  }

  /** Uses the challenge up (its first right answer); false when another answer got there first or it died meanwhile. */
  async consume(sql: Sql, id: string, maxAttempts: number, now: Date): Promise<boolean> {
    const row = await sql.one(
      `update mfa_challenges set used_at = ?
        where id = ? and used_at is null and expires_at > ? and attempts < ? returning id`,
      [now, id, now, maxAttempts],
    );
    return row !== undefined;
  }

  /** Counts a wrong answer atomically; returns the new count. */
  async recordWrongAnswer(sql: Sql, id: string): Promise<number> {
    const row = await sql.one<{ attempts: number }>(
      'update mfa_challenges set attempts = attempts + 1 where id = ? returning attempts',
      [id],
    );
    return row?.attempts ?? Number.MAX_SAFE_INTEGER;
  }

  /** Deletes challenges that expired before `before` (used or not: they can answer nothing any more). */
  async prune(sql: Sql, before: Date): Promise<number> {
    const rows = await sql.all<{ id: string }>('delete from mfa_challenges where expires_at < ? returning id', [
      before,
    ]);
    return rows.length;
  }

  /** Ends every pending challenge of a user (password changed, factors reset). */
  async endAll(sql: Sql, userId: string, now: Date): Promise<void> {
    await sql.all('update mfa_challenges set used_at = ? where user_id = ? and used_at is null', [now, userId]);
  }
}
