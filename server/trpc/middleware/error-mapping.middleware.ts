import { TRPCError } from '@trpc/server';
import { toPublicError } from '../../public-error.js';
import { t } from '../init.js';

/**
 * Gives every failed call the tRPC code of its public error (so the HTTP
 * status is right) and logs outages and bugs without their message (driver
 * messages can hold SQL with bound values: hashes, emails).
 */
export const errorMapping = t.middleware(async ({ ctx, next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const error = result.error;
  const pub = toPublicError(error);
  if (pub.log === 'database_unavailable') {
    ctx.logger.warn({ msg: 'database unavailable', path, request_id: ctx.req.requestId });
  } else if (pub.log === 'internal') {
    const e = (error.cause ?? error) as { name?: string; code?: string; stack?: string };
    ctx.logger.error({
      msg: 'unhandled error',
      path,
      request_id: ctx.req.requestId,
      err_name: e.name,
      err_code: e.code,
      // Frames only: the first lines of a driver error's stack are its message.
      stack: e.stack
        ?.split('\n')
        .filter((l) => /^\s+at /.test(l))
        .slice(0, 7)
        .join('\n'),
    });
  }
  if (pub.trpcCode !== error.code) throw new TRPCError({ code: pub.trpcCode, message: pub.message, cause: error });
  return result;
});
