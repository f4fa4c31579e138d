import { Router, type Response } from 'express';
import type { Sql } from '../db/sql.js';
import type { RateLimitStore } from '../rate-limit/rate-limit-store.js';
import type { HealthService } from '../services/health.service.js';

/**
 * Probes: never cached, never rate limited (plain Express routes, outside
 * the tRPC middleware). With the shared (postgres) rate-limit store the
 * report adds `checks.rateLimitStore`: while it is unreachable the service
 * refuses logins, registrations and resets (they fail closed), so it is not
 * ready.
 */
export function healthRoutes(deps: { health: HealthService; sql: () => Sql; rateLimits?: RateLimitStore }): Router {
  const r = Router();
  const full = async (_req: unknown, res: Response) => {
    const sharedStore = deps.rateLimits?.kind === 'postgres' ? deps.rateLimits : undefined;
    const [report, store] = await Promise.all([deps.health.check(deps.sql()), sharedStore?.check()]);
    const body =
      store === undefined
        ? report
        : {
            ...report,
            status: report.status === 'ok' && store === 'ok' ? ('ok' as const) : ('error' as const),
            checks: { ...report.checks, rateLimitStore: store },
          };
    res.setHeader('Cache-Control', 'no-store');
    res.status(body.status === 'ok' ? 200 : 503).json(body);
  };
  r.get('/health', full);
  r.get('/health/ready', full);
  r.get('/health/live', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  return r;
}
