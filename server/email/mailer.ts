import type { MailOutboxRepository } from '../db/repositories/mail-outbox.repository.js';
import type { Sql } from '../db/sql.js';
import type { Clock } from '../security/clock.js';
import { seal } from './sealed-payload.js';
import { render, type MailTemplate } from './templates.js';

/**
 * Enqueues mail in the caller's transaction: the message exists exactly when
 * the change that caused it commits, and a mail server outage never fails or
 * loses the request (the outbox worker delivers later).
 */
export class Mailer {
  constructor(
    private readonly deps: { repo: MailOutboxRepository; key: Buffer; clock: Clock; onEnqueued?: () => void },
  ) {}

  async enqueue(sql: Sql, template: MailTemplate): Promise<void> {
    const message = render(template);
    await this.deps.repo.enqueue(
      sql,
      template.kind,
      seal(this.deps.key, JSON.stringify(message)),
      this.deps.clock.now(),
    );
    const wake = this.deps.onEnqueued;
    if (wake) sql.afterCommit(wake);
  }
}
