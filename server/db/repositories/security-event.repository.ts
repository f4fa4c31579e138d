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

  /** Newest first; keyset pagination on (created_at, id). */
  async list(
    sql: Sql,
    f: { userId?: string; type?: string; since?: Date; before?: { createdAt: Date; id: string }; limit: number },
  ): Promise<SecurityEventRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.userId) (where.push('user_id = ?'), params.push(f.userId));
    if (f.type) (where.push('event_type = ?'), params.push(f.type));
    if (f.since) (where.push('created_at >= ?'), params.push(f.since));
    if (f.before) (where.push('(created_at, id) < (?, ?)'), params.push(f.before.createdAt, f.before.id));
    params.push(f.limit);
    return sql.all<SecurityEventRow>(
      `select * from security_events ${where.length ? 'where ' + where.join(' and ') : ''}
        order by created_at desc, id desc limit ?`,
      params,
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
