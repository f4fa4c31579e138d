import { randomUUID } from 'node:crypto';
import type { Sql } from '../sql.js';
import type { RowOf } from '../row-types.js';
import type { MailOutboxSchema } from '../entities/mail-outbox.entity.js';

/** A message due for delivery: the mail_outbox columns the worker reads. */
export type OutboxRow = Pick<RowOf<typeof MailOutboxSchema>, 'id' | 'template' | 'payload' | 'attempts' | 'created_at'>;

export class MailOutboxRepository {
  async enqueue(sql: Sql, template: string, encryptedPayload: string, now: Date): Promise<string> {
    const id = randomUUID();
    await sql.all('insert into mail_outbox (id, template, payload, next_attempt_at) values (?, ?, ?, ?)', [
      id,
      template,
      encryptedPayload,
      now,
    ]);
    return id;
  }

  /**
   * Leases due messages: pushes their next attempt out by `leaseSeconds` so
   * no other worker takes them, without holding a transaction during SMTP.
   * A worker that dies mid-send leaves the lease to expire: at-least-once.
   */
  async lease(sql: Sql, now: Date, limit: number, leaseSeconds: number): Promise<OutboxRow[]> {
    return sql.all<OutboxRow>(
      `update mail_outbox set next_attempt_at = ?::timestamptz + make_interval(secs => ?), attempts = attempts + 1
        where id in (select id from mail_outbox
                      where sent_at is null and failed_at is null and next_attempt_at <= ?
                      order by next_attempt_at limit ? for update skip locked)
        returning id, template, payload, attempts, created_at`,
      [now, leaseSeconds, now, limit],
    );
  }

  /** Delivered: the payload (with its link) is erased. */
  async markSent(sql: Sql, id: string, now: Date): Promise<void> {
    await sql.all(`update mail_outbox set sent_at = ?, payload = '', last_error = null where id = ?`, [now, id]);
  }

  async markRetry(sql: Sql, id: string, nextAttemptAt: Date, error: string): Promise<void> {
    await sql.all('update mail_outbox set next_attempt_at = ?, last_error = ? where id = ?', [
      nextAttemptAt,
      error.slice(0, 500),
      id,
    ]);
  }

  async markFailed(sql: Sql, id: string, now: Date, error: string): Promise<void> {
    await sql.all(`update mail_outbox set failed_at = ?, payload = '', last_error = ? where id = ?`, [
      now,
      error.slice(0, 500),
      id,
    ]);
  }

  /** Delivered or abandoned messages (payload already erased) past their retention. */
  async pruneFinished(sql: Sql, olderThan: Date): Promise<number> {
    const rows = await sql.all('delete from mail_outbox where (sent_at < ? or failed_at < ?) returning id', [
      olderThan,
      olderThan,
    ]);
    return rows.length;
  }
}
