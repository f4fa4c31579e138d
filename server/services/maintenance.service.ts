import type { EmailTokenRepository } from '../db/repositories/email-token.repository.js';
import type { LoginThrottleRepository } from '../db/repositories/lockout.repository.js';
import type { MfaChallengeRepository } from '../db/repositories/mfa-challenge.repository.js';
import type { WebauthnChallengeRepository } from '../db/repositories/webauthn-challenge.repository.js';
import type { MailOutboxRepository } from '../db/repositories/mail-outbox.repository.js';
import type { MaintenanceLockRepository } from '../db/repositories/maintenance-lock.repository.js';
import type { RefreshTokenRepository } from '../db/repositories/refresh-token.repository.js';
import type { SecurityEventRepository } from '../db/repositories/security-event.repository.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../security/clock.js';

const DAY_MS = 24 * 3600 * 1000;
const THROTTLE_RETENTION_MS = DAY_MS;
const OUTBOX_RETENTION_MS = 7 * DAY_MS;
const INTERVAL_MS = 10 * 60 * 1000;
/** Rows per delete: each batch is its own short transaction, so no lock is held for long. */
export const RETENTION_BATCH = 500;
/** Batches per table and pass: a backlog is worked off over several passes, never in one long burst. */
const MAX_BATCHES = 200;

export interface MaintenanceResult {
  /** False when another instance held the turn; nothing was deleted. */
  ran: boolean;
  throttles: number;
  mail: number;
  challenges: number;
  refreshTokens: number;
  emailTokens: number;
  securityEvents: number;
}
const CHALLENGE_RETENTION_MS = 60 * 60 * 1000;

/**
 * Periodic clean-up of rows that would otherwise only grow: anonymous login
 * throttles (one per sprayed address), delivered mail, sessions that ended
 * (revoked, logged out or expired) and used or expired one-time tokens
 * RETENTION_DAYS after they ended, and audit rows older than
 * AUDIT_RETENTION_DAYS (0 keeps them). Instances take turns through an
 * advisory lock, and every delete is a small batch of its own.
 */
export class MaintenanceService {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly d: {
      sql: () => Sql;
      clock: Clock;
      logger: Logger;
      retentionDays: number;
      auditRetentionDays: number;
      lock: MaintenanceLockRepository;
      throttles: LoginThrottleRepository;
      mailOutbox: MailOutboxRepository;
      mfaChallenges: MfaChallengeRepository;
      webauthnChallenges: WebauthnChallengeRepository;
      refreshTokens: RefreshTokenRepository;
      emailTokens: EmailTokenRepository;
      securityEvents: SecurityEventRepository;
    },
  ) {}

  async runOnce(): Promise<MaintenanceResult> {
    return this.d.sql().pinned(async (sql) => {
      const none = { throttles: 0, mail: 0, challenges: 0, refreshTokens: 0, emailTokens: 0, securityEvents: 0 };
      if (!(await this.d.lock.tryLock(sql))) return { ran: false, ...none };
      try {
        const result = { ran: true, ...(await this.pass(sql)) };
        const total =
          result.throttles +
          result.mail +
          result.challenges +
          result.refreshTokens +
          result.emailTokens +
          result.securityEvents;
        if (total > 0) {
          this.d.logger.info({
            msg: 'maintenance pruned rows',
            login_throttles: result.throttles,
            mail_outbox: result.mail,
            challenges: result.challenges,
            refresh_tokens: result.refreshTokens,
            email_tokens: result.emailTokens,
            security_events: result.securityEvents,
          });
        }
        return result;
      } finally {
        await this.d.lock.unlock(sql);
      }
    });
  }

  private async pass(sql: Sql): Promise<Omit<MaintenanceResult, 'ran'>> {
    const now = this.d.clock.now().getTime();
    const ended = new Date(now - this.d.retentionDays * DAY_MS);
    const throttles = await this.d.throttles.prune(sql, new Date(now - THROTTLE_RETENTION_MS));
    const mail = await this.d.mailOutbox.pruneFinished(sql, new Date(now - OUTBOX_RETENTION_MS));
    // Login and passkey challenges live minutes; anyone can make passkey
    // challenges (passwordless sign-in), so expired ones must not pile up.
    const expired = new Date(now - CHALLENGE_RETENTION_MS);
    const challenges =
      (await this.d.mfaChallenges.prune(sql, expired)) + (await this.d.webauthnChallenges.prune(sql, expired));
    const refreshTokens = await batches((limit) => this.d.refreshTokens.deleteEnded(sql, ended, limit));
    const emailTokens = await batches((limit) => this.d.emailTokens.deleteEnded(sql, ended, limit));
    const securityEvents =
      this.d.auditRetentionDays > 0
        ? await batches((limit) =>
            this.d.securityEvents.deleteOlderThan(sql, new Date(now - this.d.auditRetentionDays * DAY_MS), limit),
          )
        : 0;
    return { throttles, mail, challenges, refreshTokens, emailTokens, securityEvents };
  }

  start(): void {
    this.timer = setInterval(() => {
      this.runOnce().catch((err: Error) => this.d.logger.warn({ msg: 'maintenance pass failed', err_name: err.name }));
    }, INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Repeats one batch delete until a batch comes back short (or the per-pass cap). */
async function batches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const n = await deleteBatch(RETENTION_BATCH);
    total += n;
    if (n < RETENTION_BATCH) break;
  }
  return total;
}
