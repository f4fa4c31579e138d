import { randomUUID } from 'node:crypto';
import type { Sql } from '../sql.js';

export type EmailTokenPurpose = 'verify_email' | 'reset_password';

export class EmailTokenRepository {
  /** Stores a new token digest and invalidates older unused ones of the same purpose. */
  async replace(
    sql: Sql,
    t: { userId: string; purpose: EmailTokenPurpose; tokenHash: string; expiresAt: Date },
    now: Date,
  ): Promise<void> {
    await this.invalidate(sql, t.userId, t.purpose, now);
    await sql.all('insert into email_tokens (id, user_id, purpose, token_hash, expires_at) values (?, ?, ?, ?, ?)', [
      randomUUID(),
      t.userId,
      t.purpose,
      t.tokenHash,
      t.expiresAt,
    ]);
  }

  /** Ends every unused token of one purpose for a user (marks them used). */
  async invalidate(sql: Sql, userId: string, purpose: EmailTokenPurpose, now: Date): Promise<void> {
    await sql.all('update email_tokens set used_at = ? where user_id = ? and purpose = ? and used_at is null', [
      now,
      userId,
      purpose,
    ]);
  }

  /**
   * Atomically consumes a live token; returns its user id, or nothing if
   * unknown, used or expired. `tokenHashes` are the token's digests under
   * each ring key (a link issued before a key rotation); digests are unique,
   * so at most one row matches.
   */
  async consume(
    sql: Sql,
    purpose: EmailTokenPurpose,
    tokenHashes: readonly string[],
    now: Date,
  ): Promise<string | undefined> {
    const row = await sql.one<{ user_id: string }>(
      `update email_tokens set used_at = ?
        where token_hash = any(?::varchar[]) and purpose = ? and used_at is null and expires_at > ?
        returning user_id`,
      [now, tokenHashes, purpose, now],
    );
    return row?.user_id;
  }

  /** Looks a live token up (digests under each ring key) without consuming it, to check a new password first. */
  async peek(
    sql: Sql,
    purpose: EmailTokenPurpose,
    tokenHashes: readonly string[],
    now: Date,
  ): Promise<string | undefined> {
    const row = await sql.one<{ user_id: string }>(
      'select user_id from email_tokens where token_hash = any(?::varchar[]) and purpose = ? and used_at is null and expires_at > ?',
      [tokenHashes, purpose, now],
    );
    return row?.user_id;
  }

  /** One batch of the retention pass: tokens used or expired before `endedBefore`. */
  async deleteEnded(sql: Sql, endedBefore: Date, limit: number): Promise<number> {
    const rows = await sql.all(
      'delete from email_tokens where id in (select id from email_tokens where used_at < ? or expires_at < ? limit ?) returning id',
      [endedBefore, endedBefore, limit],
    );
    return rows.length;
  }
}
