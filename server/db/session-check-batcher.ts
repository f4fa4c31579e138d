import type { Clock } from '../security/clock.js';
import type { SessionCheck, SessionUser, UserRepository } from './repositories/user.repository.js';
import type { Sql } from './sql.js';

interface Waiting {
  check: SessionCheck;
  resolve(user: SessionUser | undefined): void;
  reject(err: unknown): void;
}

/**
 * Every authenticated call checks its session against the database (user
 * active, session_version current, session live). Under load many calls
 * wait for that check at the same moment; this sends them as one statement
 * instead of one round trip each. A check goes out at once while fewer than
 * `maxInFlight` statements are running, so an idle service adds no delay;
 * checks that arrive while they run leave together when one returns. Each
 * check is still made after its call arrived, against committed rows, so a
 * logout or revocation ends access exactly as before.
 */
export class SessionCheckBatcher {
  private waiting: Waiting[] = [];
  private inFlight = 0;

  constructor(
    private readonly d: {
      sql: () => Sql;
      users: UserRepository;
      clock: Clock;
      /** Statements running at once (pool connections taken by session checks). */
      maxInFlight: number;
      /** Checks per statement at most. */
      maxBatch: number;
    },
  ) {}

  check(check: SessionCheck): Promise<SessionUser | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ check, resolve, reject });
      this.send();
    });
  }

  private send(): void {
    while (this.waiting.length > 0 && this.inFlight < this.d.maxInFlight) {
      const batch = this.waiting.splice(0, this.d.maxBatch);
      this.inFlight++;
      this.d.users
        .findForSessions(
          this.d.sql(),
          batch.map((w) => w.check),
          this.d.clock.now(),
        )
        .then(
          (rows) => {
            const found = new Map(rows.map(({ ord, ...user }) => [Number(ord), user]));
            batch.forEach((w, i) => w.resolve(found.get(i + 1)));
          },
          (err: unknown) => {
            for (const w of batch) w.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.send();
        });
    }
  }
}
