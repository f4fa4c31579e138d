/** Thrown by `withTimeout` when the work did not settle in time. */
export class TimeoutError extends Error {
  constructor(what: string) {
    super(`${what} timed out`);
    this.name = 'TimeoutError';
  }
}

/**
 * `work`, or a TimeoutError after `ms`: bounds a probe or a flush so a hung
 * peer (database, collector) answers as down instead of holding the caller.
 * The timer is always cleared, so it never keeps the process alive.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(what)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
