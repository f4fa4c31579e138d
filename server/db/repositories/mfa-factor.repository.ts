import type { MfaFactorSchema } from '../entities/mfa-factor.entity.js';
import type { RowOf } from '../row-types.js';
import type { Sql } from '../sql.js';

export type FactorKind = 'totp' | 'passkey';

/**
 * An mfa_factors row as stored, derived from the entity. sign_count is a
 * bigint (a counter is 32 bits unsigned), which pg hands over as a string.
 */
export type MfaFactorRow = Omit<RowOf<typeof MfaFactorSchema>, 'kind' | 'sign_count'> & {
  kind: FactorKind;
  sign_count: string | null;
};

export interface NewPasskey {
  id: string;
  userId: string;
  name: string;
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: string | null;
  aaguid: string | null;
  backedUp: boolean;
}

/**
 * Second factors. A TOTP factor counts once it is confirmed; a passkey is
 * confirmed by its registration ceremony and stored confirmed.
 */
export class MfaFactorRepository {
  async insertTotp(sql: Sql, f: { id: string; userId: string; name: string; sealedSecret: string }): Promise<void> {
    await sql.all(`insert into mfa_factors (id, user_id, kind, name, secret) values (?, ?, 'totp', ?, ?)`, [
      f.id,
      f.userId,
      f.name,
      f.sealedSecret,
    ]);
  }

  /** Inserts a passkey; false when its credential id already belongs to an account (unique index, no race). */
  async insertPasskey(sql: Sql, f: NewPasskey): Promise<boolean> {
    const row = await sql.one(
      `insert into mfa_factors (id, user_id, kind, name, confirmed_at, credential_id, public_key, sign_count, transports,
                                aaguid, backed_up)
       values (?, ?, 'passkey', ?, now(), ?, ?, ?, ?, ?, ?)
       on conflict (credential_id) do nothing returning id`,
      [f.id, f.userId, f.name, f.credentialId, f.publicKey, f.signCount, f.transports, f.aaguid, f.backedUp],
    );
    return row !== undefined;
  }

  async find(sql: Sql, userId: string, id: string): Promise<MfaFactorRow | undefined> {
    return sql.one<MfaFactorRow>('select * from mfa_factors where id = ? and user_id = ?', [id, userId]);
  }

  async listConfirmed(sql: Sql, userId: string): Promise<MfaFactorRow[]> {
    return sql.all<MfaFactorRow>(
      'select * from mfa_factors where user_id = ? and confirmed_at is not null order by created_at, id',
      [userId],
    );
  }

  async countConfirmed(sql: Sql, userId: string): Promise<number> {
    const row = await sql.one<{ n: number }>(
      'select count(*)::int as n from mfa_factors where user_id = ? and confirmed_at is not null',
      [userId],
    );
    return row?.n ?? 0;
  }

  /** Which of these users have a confirmed factor (one query for a page of users). */
  async usersWithFactors(sql: Sql, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await sql.all<{ user_id: string }>(
      'select distinct user_id from mfa_factors where user_id = any(?::uuid[]) and confirmed_at is not null',
      [userIds],
    );
    return new Set(rows.map((r) => r.user_id));
  }

  async findByCredentialId(sql: Sql, credentialId: string): Promise<MfaFactorRow | undefined> {
    return sql.one<MfaFactorRow>("select * from mfa_factors where credential_id = ? and kind = 'passkey'", [
      credentialId,
    ]);
  }

  /** Unconfirmed enrolments never finished: replaced by a new one, so they cannot pile up. */
  async deleteUnconfirmed(sql: Sql, userId: string): Promise<void> {
    await sql.all('delete from mfa_factors where user_id = ? and confirmed_at is null', [userId]);
  }

  async confirm(sql: Sql, id: string): Promise<boolean> {
    const row = await sql.one(
      'update mfa_factors set confirmed_at = now() where id = ? and confirmed_at is null returning id',
      [id],
    );
    return row !== undefined;
  }

  /**
   * The replay guard: records `step` as used only if no step at or after it
   * was accepted before. Concurrent uses of one code race on the row lock;
   * exactly one matches.
   */
  async claimStep(sql: Sql, id: string, step: number, now: Date): Promise<boolean> {
    const row = await sql.one(
      `update mfa_factors set last_used_step = ?, last_used_at = ?
        where id = ? and (last_used_step is null or last_used_step < ?) returning id`,
      [step, now, id, step],
    );
    return row !== undefined;
  }

  /**
   * Moves a passkey's sign counter forward, only from the value the
   * assertion was checked against, so two parallel assertions cannot both
   * pass with the same counter.
   */
  async advanceCounter(sql: Sql, id: string, from: string | null, to: number, now: Date): Promise<boolean> {
    const row = await sql.one(
      `update mfa_factors set sign_count = ?, last_used_at = ?
        where id = ? and sign_count is not distinct from ?::bigint returning id`,
      [to, now, id, from],
    );
    return row !== undefined;
  }

  async delete(sql: Sql, userId: string, id: string): Promise<MfaFactorRow | undefined> {
    return sql.one<MfaFactorRow>('delete from mfa_factors where id = ? and user_id = ? returning *', [id, userId]);
  }

  async deleteAll(sql: Sql, userId: string): Promise<number> {
    const rows = await sql.all('delete from mfa_factors where user_id = ? returning id', [userId]);
    return rows.length;
  }
}
