import { initTRPC } from '@trpc/server';
import type { Context } from './context.js';
import { describeError } from './error-formatter.js';

/** Per-procedure settings read by middleware. */
export interface Meta {
  /** Rate-limit rules applied to this procedure (names from RATE_LIMITS). */
  rateLimits?: readonly string[];
}

export const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    // No stack traces or internals in responses, in any environment.
    isDev: false,
    errorFormatter({ shape, error }) {
      const { message, data } = describeError(error);
      return {
        code: shape.code,
        message,
        data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, ...data },
      };
    },
  });
