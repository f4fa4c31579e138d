import type { MailOutboxRepository } from '../db/repositories/mail-outbox.repository.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../security/clock.js';
import { openWithAny } from './sealed-payload.js';
import type { MailMessage } from './templates.js';
import type { MailTransport } from './transports.js';

export interface OutboxWorkerOptions {
  repo: MailOutboxRepository;
  sql: () => Sql;
  transport: MailTransport;
  /** Keys that may have sealed a payload, current first (SECRET_KEY, then SECRET_KEY_PREVIOUS). */
  keys: readonly Buffer[];
  from: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Poll interval when idle (ms). */
  pollMs?: number;
  /** First retry delay (s); doubles per attempt up to maxBackoff. */
  firstRetrySeconds?: number;
  maxBackoffSeconds?: number;
  /** Give up after this long since enqueue (s): the service promises at least 24 h. */
  giveUpAfterSeconds?: number;
}

/**
 * A failed send is retried with backoff, the first retry within 10 s,
 * for at least 24 h. Here: 5 s, doubling to at most 15 min, for 48 h.
 */
export interface RetryPolicy {
  firstRetrySeconds: number;
  maxBackoffSeconds: number;
  giveUpAfterSeconds: number;
}
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  firstRetrySeconds: 5,
  maxBackoffSeconds: 900,
  giveUpAfterSeconds: 48 * 3600,
});

/** Delay before the next try after `attempts` tries (1 = the first send failed). */
export function retryDelaySeconds(p: RetryPolicy, attempts: number): number {
  return Math.min(p.firstRetrySeconds * 2 ** Math.max(0, attempts - 1), p.maxBackoffSeconds);
}

export function shouldGiveUp(p: RetryPolicy, ageSeconds: number): boolean {
  return ageSeconds > p.giveUpAfterSeconds;
}

function definedOnly(o: Partial<RetryPolicy>): Partial<RetryPolicy> {
  const out: Partial<RetryPolicy> = {};
  if (o.firstRetrySeconds !== undefined) out.firstRetrySeconds = o.firstRetrySeconds;
  if (o.maxBackoffSeconds !== undefined) out.maxBackoffSeconds = o.maxBackoffSeconds;
  if (o.giveUpAfterSeconds !== undefined) out.giveUpAfterSeconds = o.giveUpAfterSeconds;
  return out;
}

const LEASE_SECONDS = 120;
const BATCH = 20;

/**
 * Delivers queued mail with retries: first retry after 5 s, doubling to at
 * most 15 min, for 48 h. Several workers (processes, instances) can run at
 * once: rows are leased with FOR UPDATE SKIP LOCKED.
 */
export class OutboxWorker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private kicked = false;

  constructor(private readonly o: OutboxWorkerOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Run soon (a message was just enqueued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.kicked = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: delivers everything due now. Returns how many were sent. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const batch = await this.o.repo.lease(this.o.sql(), this.o.clock.now(), BATCH, LEASE_SECONDS);
      if (batch.length === 0) return sent;
      for (const row of batch) {
        if (await this.deliver(row)) sent++;
      }
      if (batch.length < BATCH) return sent;
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.drain()
        .then(() => undefined)
        .catch((err: Error) => this.o.logger.warn({ msg: 'mail outbox pass failed', err: err.message }))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const again = this.kicked;
          this.kicked = false;
          this.schedule(again ? 0 : (this.o.pollMs ?? 2000));
        });
    }, ms);
    this.timer.unref();
  }

  private async deliver(row: {
    id: string;
    template: string;
    payload: string;
    attempts: number;
    created_at: Date;
  }): Promise<boolean> {
    const sql = this.o.sql();
    const now = this.o.clock.now();
    const plaintext = openWithAny(this.o.keys, row.payload);
    if (plaintext === undefined) {
      // No ring key opens it: during a rolling rotation it was most likely
      // sealed by an instance holding a newer SECRET_KEY, which will deliver
      // it. Dropping it here would lose mail, so it waits like any failed
      // delivery and is abandoned only at the normal give-up age. Only the
      // row id is logged: the payload carries the link.
      await this.retryOrGiveUp(
        row,
        now,
        'payload sealed under a key this instance does not hold (SECRET_KEY rotation?)',
        'mail payload sealed under an unknown key, will retry',
      );
      return false;
    }
    const message = JSON.parse(plaintext) as MailMessage;
    try {
      await this.o.transport.send(this.o.from, message);
      await this.o.repo.markSent(sql, row.id, this.o.clock.now());
      return true;
    } catch (err) {
      this.o.metrics.mailDeliveryFailures.inc();
      await this.retryOrGiveUp(row, now, (err as Error).message ?? String(err), 'mail delivery failed, will retry');
      return false;
    }
  }

  /** Backs off (first retry, doubling, capped) until the give-up age, then marks the row failed. */
  private async retryOrGiveUp(
    row: { id: string; template: string; attempts: number; created_at: Date },
    now: Date,
    reason: string,
    retryMsg: string,
  ): Promise<void> {
    const sql = this.o.sql();
    const policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(this.o) };
    if (shouldGiveUp(policy, (now.getTime() - row.created_at.getTime()) / 1000)) {
      await this.o.repo.markFailed(sql, row.id, now, reason);
      this.o.logger.error({
        msg: 'mail delivery abandoned',
        mail_id: row.id,
        template: row.template,
        attempts: row.attempts,
        err: reason,
      });
      return;
    }
    const delay = retryDelaySeconds(policy, row.attempts);
    await this.o.repo.markRetry(sql, row.id, new Date(now.getTime() + delay * 1000), reason);
    this.o.logger.warn({
      msg: retryMsg,
      mail_id: row.id,
      template: row.template,
      attempts: row.attempts,
      retry_in_s: delay,
      err: reason,
    });
  }
}
