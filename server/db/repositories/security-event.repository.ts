import type { Sql } from '../sql.js';
import type { RowOf } from '../row-types.js';
import type { SecurityEventSchema } from '../entities/security-event.entity.js';

/** A security_events row as stored, derived from the entity. */
export type SecurityEventRow = RowOf<typeof SecurityEventSchema>;

export class SecurityEventRepository {
  async insert(sql: Sql, e: Omit<SecurityEventRow, 'created_at'> & { created_at: Date }): Promise<void> {
    await sql.all(
      `insert into security_events (id, event_type, severity, outcome, user_id, ip, request_id, trace_id, user_agent, details, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)`,
      [
        e.id,
        e.event_type,
        e.severity,
        e.outcome,
        e.user_id,
        e.ip,
        e.request_id,
        e.trace_id,
        e.user_agent,
        JSON.stringify(e.details),
        e.created_at,
      ],
    );
  }

  /**
   * Newest first; keyset pagination on (created_at, id), compared at
   * millisecond precision like every cursor the API hands out (a cursor is a
   * JS Date). One fixed statement: each filter is off when its value is null.
   */
  async list(
    sql: Sql,
    f: { userId?: string; type?: string; since?: Date; before?: { createdAt: Date; id: string }; limit: number },
  ): Promise<SecurityEventRow[]> {
    return sql.all<SecurityEventRow>(
      `select * from security_events
        where ($1::uuid is null or user_id = $1)
          and ($2::text is null or event_type = $2)
          and ($3::timestamptz is null or created_at >= $3)
          and ($4::timestamptz is null or (date_trunc('milliseconds', created_at), id) < ($4, $5::uuid))
        order by date_trunc('milliseconds', created_at) desc, id desc
        limit $6`,
      [f.userId ?? null, f.type ?? null, f.since ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
    );
  }

  /** One batch of the retention pass: events written before `before` (oldest first, by the created_at index). */
  async deleteOlderThan(sql: Sql, before: Date, limit: number): Promise<number> {
    const rows = await sql.all(
      'delete from security_events where id in (select id from security_events where created_at < ? order by created_at limit ?) returning id',
      [before, limit],
    );
    return rows.length;
  }
}
