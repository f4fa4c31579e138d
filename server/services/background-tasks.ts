import type { Logger } from '../observability/logger.js';

/**
 * Work started by a request that its answer must not wait for: the writes
 * and mail of an "always ok" call for a real account. Were they on the
 * answer path, the extra time would tell an attacker the address has an
 * account. Failures are logged (never thrown at nobody); shutdown drains
 * what is still running before the pool closes.
 */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(name: string, task: () => Promise<void>): void {
    const p: Promise<void> = Promise.resolve()
      .then(task)
      .catch((err: Error) =>
        this.logger.error({ msg: 'background task failed', task: name, err_name: err.name, err: err.message }),
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once every task started so far (and any they started) has ended. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
