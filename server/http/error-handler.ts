import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../observability/logger.js';

/** Body-parser and other non-tRPC failures as small JSON, never a stack. */
export function httpErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: { type?: string; status?: number; statusCode?: number; name?: string }, _req, res, _next) => {
    const status = err.status ?? err.statusCode ?? 500;
    if (err.type === 'entity.too.large' || status === 413) {
      res.status(413).json({ error: { message: 'Request body too large (limit 64 KiB)', data: { appCode: 'INVALID_INPUT', httpStatus: 413 } } });
      return;
    }
    if (status >= 400 && status < 500) {
      res.status(status).json({ error: { message: 'Malformed request', data: { appCode: 'INVALID_INPUT', httpStatus: status } } });
      return;
    }
    logger.error({ msg: 'http error', err_name: err.name, status });
    res.status(500).json({ error: { message: 'Internal server error', data: { appCode: 'INTERNAL', httpStatus: 500 } } });
  };
}

export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: { message: 'Not found', data: { appCode: 'NOT_FOUND', httpStatus: 404 } } });
};
