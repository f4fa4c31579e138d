import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../observability/logger.js';
import { toPublicError } from '../public-error.js';

/** Errors outside tRPC (body parsing, plain routes) in the same public shape as procedure errors, never a stack. */
export function httpErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const pub = toPublicError(err);
    if (pub.log === 'internal') logger.error({ msg: 'http error', err_name: (err as { name?: string }).name });
    if (pub.log === 'database_unavailable') logger.warn({ msg: 'database unavailable' });
    if (pub.data.retryAfter !== undefined) res.setHeader('Retry-After', String(pub.data.retryAfter));
    res
      .status(pub.httpStatus)
      .json({ error: { message: pub.message, data: { ...pub.data, httpStatus: pub.httpStatus } } });
  };
}

export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: { message: 'Not found', data: { appCode: 'NOT_FOUND', httpStatus: 404 } } });
};
