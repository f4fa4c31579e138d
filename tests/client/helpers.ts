import type { FetchLike } from '../../client/src/index.js';

/** A fetch that records every URL it is asked for, to count requests per procedure. */
export function countingFetch(rewrite: (url: string) => string = (u) => u) {
  const urls: string[] = [];
  const f: FetchLike = (input, init) => {
    urls.push(input);
    return fetch(rewrite(input), init);
  };
  return {
    fetch: f,
    urls,
    /** How many operations of `path` were sent (a batch URL names several: /trpc/a,b?batch=1). */
    ops(path: string): number {
      return urls
        .filter((u) => u.includes('/trpc/'))
        .reduce(
          (n, u) =>
            n +
            decodeURIComponent(new URL(u).pathname.split('/trpc/')[1] ?? '')
              .split(',')
              .filter((p) => p === path).length,
          0,
        );
    },
  };
}

/** Awaits a promise that must reject and returns the error. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}
