import { randomUUID } from 'node:crypto';
import type { Sql } from '../sql.js';

export type WebauthnPurpose = 'register' | 'mfa' | 'login';

export class WebauthnChallengeRepository {
  async insert(
    sql: Sql,
    c: { challengeHash: string; userId: string | null; purpose: WebauthnPurpose; expiresAt: Date },
  ): Promise<string> {
    const id = randomUUID();
    await sql.all(
      'insert into webauthn_challenges (id, challenge_hash, user_id, purpose, expires_at) values (?, ?, ?, ?, ?)',
      [id, c.challengeHash, c.userId, c.purpose, c.expiresAt],
    );
    return id;
  }

  /** Deletes challenges that expired before `before`. */
  async prune(sql: Sql, before: Date): Promise<number> {
    const rows = await sql.all<{ id: string }>('delete from webauthn_challenges where expires_at < ? returning id', [
      before,
    ]);
    return rows.length;
  }

  /**
   * Uses a challenge once: it must be live, of this purpose and (when given)
   * this account's, and (when given) this row. Parallel uses: one matches.
   */
  async consume(
    sql: Sql,
    c: { challengeHash: string; purpose: WebauthnPurpose; userId: string | null; id?: string },
    now: Date,
  ): Promise<boolean> {
    const row = await sql.one(
      `update webauthn_challenges set used_at = ?
        where challenge_hash = ? and purpose = ? and used_at is null and expires_at > ?
          and user_id is not distinct from ?::uuid and (?::uuid is null or id = ?::uuid)
        returning id`,
      [now, c.challengeHash, c.purpose, now, c.userId, c.id ?? null, c.id ?? null],
    );
    return row !== undefined;
  }
}
