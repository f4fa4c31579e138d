import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Metrics } from '../observability/metrics.js';

export function metricsRoutes(metrics: Metrics, token: string | undefined): Router {
  const r = Router();
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  r.get('/metrics', async (req, res) => {
    if (expected) {
      const got = Buffer.from(req.get('authorization') ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        res.status(401).setHeader('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized' });
        return;
      }
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return r;
}
