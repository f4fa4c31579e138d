import type { LoginThrottleRepository } from '../db/repositories/lockout.repository.js';
import type { MfaChallengeRepository } from '../db/repositories/mfa-challenge.repository.js';
import type { WebauthnChallengeRepository } from '../db/repositories/webauthn-challenge.repository.js';
import type { MailOutboxRepository } from '../db/repositories/mail-outbox.repository.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../security/clock.js';

const DAY_MS = 24 * 3600 * 1000;
const THROTTLE_RETENTION_MS = DAY_MS;
const OUTBOX_RETENTION_MS = 7 * DAY_MS;
const INTERVAL_MS = 10 * 60 * 1000;
const CHALLENGE_RETENTION_MS = 60 * 60 * 1000;

/**
 * Periodic clean-up of rows that only grow: anonymous login throttles (one
 * per sprayed address) and delivered mail. Idempotent, so every instance
 * may run it; the deletes are small and indexed by time.
 */
export class MaintenanceService {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly d: {
      sql: () => Sql;
      clock: Clock;
      logger: Logger;
      throttles: LoginThrottleRepository;
      mailOutbox: MailOutboxRepository;
      mfaChallenges: MfaChallengeRepository;
      webauthnChallenges: WebauthnChallengeRepository;
    },
  ) {}

  async runOnce(): Promise<{ throttles: number; mail: number; challenges: number }> {
    const now = this.d.clock.now().getTime();
    const sql = this.d.sql();
    const throttles = await this.d.throttles.prune(sql, new Date(now - THROTTLE_RETENTION_MS));
    const mail = await this.d.mailOutbox.pruneFinished(sql, new Date(now - OUTBOX_RETENTION_MS));
    // Login and passkey challenges live minutes; anyone can make passkey
    // challenges (passwordless sign-in), so expired ones must not pile up.
    const expired = new Date(now - CHALLENGE_RETENTION_MS);
    const challenges = (await this.d.mfaChallenges.prune(sql, expired)) + (await this.d.webauthnChallenges.prune(sql, expired));
    if (throttles + mail + challenges > 0) {
      this.d.logger.info({ msg: 'maintenance pruned rows', login_throttles: throttles, mail_outbox: mail, challenges });
    }
    return { throttles, mail, challenges };
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
