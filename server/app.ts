import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import type { Deps } from './deps.js';
import { AppError } from './errors.js';
import { httpErrorHandler, notFound } from './http/error-handler.js';
import { healthRoutes } from './http/health.routes.js';
import { metricsRoutes } from './http/metrics.routes.js';
import { pagesRoutes } from './http/pages/pages.routes.js';
import { requestId } from './http/request-id.middleware.js';
import { requestLog } from './http/request-log.middleware.js';
import { corsPolicy, securityHeaders } from './http/security-headers.js';
import { wellKnownRoutes } from './http/well-known.routes.js';
import { contextFactory } from './trpc/context.js';
import { appRouter } from './trpc/routers/app.router.js';

export const BODY_LIMIT = '64kb';

/** Express wiring only: every behaviour lives in a module of its own. */
export function createApp(deps: Deps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  app.set('etag', false);

  app.use(requestId);
  app.use(requestLog(deps.logger, deps.metrics));
  app.use(securityHeaders(deps.config.isProduction));
  app.use(corsPolicy(deps.config.corsOrigins, deps.config.sessionCookie));

  app.use(healthRoutes(deps));
  app.use(wellKnownRoutes(deps.keyring));
  app.use(metricsRoutes(deps.metrics, deps.config.metricsToken));
  if (deps.config.pagesEnabled) app.use(pagesRoutes(deps));

  app.use(
    '/trpc',
    express.json({ limit: BODY_LIMIT, strict: false }),
    createExpressMiddleware({
      router: appRouter,
      createContext: contextFactory(deps),
      maxBodySize: 64 * 1024,
      responseMeta({ errors }) {
        const headers = new Headers({ 'Cache-Control': 'no-store' });
        const retryAfter = Math.max(
          0,
          ...errors.map((e) => (e.cause instanceof AppError && e.cause.retryAfter) || 0),
        );
        if (retryAfter > 0) headers.set('Retry-After', String(retryAfter));
        return { headers };
      },
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR' && !(error.cause instanceof AppError)) {
          deps.logger.debug({ msg: 'trpc internal error', path });
        }
      },
    }),
  );

  app.use(notFound);
  app.use(httpErrorHandler(deps.logger));
  return app;
}
