import { TRPCError } from '@trpc/server';
import { TRPC_CODE_OF } from '../../../shared/app-codes.js';
import { AppError, isDatabaseUnavailable } from '../../errors.js';
import { t } from '../init.js';

/**
 * Turns AppErrors into the matching tRPC code (so the HTTP status is right),
 * a lost database into UNAVAILABLE, and logs unexpected errors without their
 * message (query builders put bound values, e.g. hashes, into it).
 */
export const errorMapping = t.middleware(async ({ ctx, next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const error = result.error;
  const cause = error.cause;
  if (cause instanceof AppError) {
    throw new TRPCError({ code: TRPC_CODE_OF[cause.code], message: cause.message, cause });
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    const original = cause ?? error;
    if (isDatabaseUnavailable(original)) {
      ctx.deps.logger.warn({ msg: 'database unavailable', path, request_id: ctx.req.requestId });
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', cause: new AppError('UNAVAILABLE', { message: 'Service temporarily unavailable' }) });
    }
    const e = original as { name?: string; code?: string; stack?: string };
    ctx.deps.logger.error({
      msg: 'unhandled error',
      path,
      request_id: ctx.req.requestId,
      err_name: e.name,
      err_code: e.code,
      // Frames only: a driver error's message (the stack's first lines) can
      // span several lines of SQL with bound values (hashes, emails).
      stack: e.stack?.split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 7).join('\n'),
    });
  }
  return result;
});
