import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * One JSON line per request. Only the path is logged, never the query
 * string (tRPC GET inputs and links could carry tokens) nor any header.
 */
export function requestLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // originalUrl keeps the mount prefix; the query string is cut off.
      const path = req.originalUrl.split('?')[0] ?? req.path;
      const route = path.startsWith('/trpc/') ? '/trpc' : path;
      metrics.requestLatency.observe(
        { method: req.method, route: routeLabel(route), status: String(res.statusCode) },
        seconds,
      );
      logger.info({
        msg: 'request',
        request_id: res.locals.requestId,
        method: req.method,
        path,
        status: res.statusCode,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        ip: req.ip,
      });
    });
    next();
  };
}

const KNOWN_ROUTES = new Set([
  '/trpc',
  '/health',
  '/health/live',
  '/health/ready',
  '/metrics',
  '/.well-known/paseto-keys',
]);
/** Bounded label set: unknown paths share one label (no cardinality blow-up). */
function routeLabel(path: string): string {
  return KNOWN_ROUTES.has(path) ? path : 'other';
}
