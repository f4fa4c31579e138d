import { Router } from 'express';
import type { Deps } from '../deps.js';

/** Probes: never cached, never rate limited. */
export function healthRoutes(deps: Deps): Router {
  const r = Router();
  const full = async (_req: unknown, res: import('express').Response) => {
    const report = await deps.health.check(deps.sql());
    res.setHeader('Cache-Control', 'no-store');
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  };
  r.get('/health', full);
  r.get('/health/ready', full);
  r.get('/health/live', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  return r;
}
