import { randomUUID } from 'node:crypto';
import type { Sql } from '../sql.js';

export class RecoveryCodeRepository {
  /** Replaces every code of the user with new digests: older codes stop working. */
  async replace(sql: Sql, userId: string, codeHashes: readonly string[]): Promise<void> {
    await sql.all('delete from recovery_codes where user_id = ?', [userId]);
    for (const hash of codeHashes) {
      await sql.all('insert into recovery_codes (id, user_id, code_hash) values (?, ?, ?)', [
        randomUUID(),
        userId,
        hash,
      ]);
    }
  }

  /**
   * Atomically uses a code (`codeHashes`: its digest under each ring key): of
   * parallel uses exactly one matches (the row lock serialises them, the loser
   * then sees used_at set).
   */
  async consume(sql: Sql, userId: string, codeHashes: readonly string[], now: Date): Promise<boolean> {
    const row = await sql.one(
      'update recovery_codes set used_at = ? where user_id = ? and code_hash = any(?::varchar[]) and used_at is null returning id',
      [now, userId, codeHashes],
    );
    return row !== undefined;
  }

  async countUnused(sql: Sql, userId: string): Promise<number> {
    const row = await sql.one<{ n: number }>(
      'select count(*)::int as n from recovery_codes where user_id = ? and used_at is null',
      [userId],
    );
    return row?.n ?? 0;
  }

  async deleteAll(sql: Sql, userId: string): Promise<void> {
    await sql.all('delete from recovery_codes where user_id = ?', [userId]);
  }
}
