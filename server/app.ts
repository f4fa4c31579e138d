import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import type { Deps } from './deps.js';
import { BODY_LIMIT_BYTES } from './http/body-limit.js';
import { httpErrorHandler, notFound } from './http/error-handler.js';
import { healthRoutes } from './http/health.routes.js';
import { jsonDepthLimit } from './http/json-depth.js';
import { metricsRoutes } from './http/metrics.routes.js';
import { pagesRoutes } from './http/pages/pages.routes.js';
import { requestId } from './http/request-id.middleware.js';
import { requestLog } from './http/request-log.middleware.js';
import { corsPolicy, securityHeaders } from './http/security-headers.js';
import { SessionCookiePolicy } from './http/session-cookie.js';
import { wellKnownRoutes } from './http/well-known.routes.js';
import { retryAfterOf, toPublicError } from './public-error.js';
import { contextFactory } from './trpc/context.js';
import { appRouter } from './trpc/routers/app.router.js';

/** Every tRPC answer is private to its caller. */
const NO_STORE = Object.freeze({ 'Cache-Control': 'no-store' });

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

  app.use(
    '/trpc',
    express.json({ limit: BODY_LIMIT_BYTES, strict: false }),
    jsonDepthLimit(),
    createExpressMiddleware({
      router: appRouter,
      createContext: contextFactory({
        services: {
          auth: deps.auth,
          sessions: deps.sessions,
          admin: deps.admin,
          health: deps.health,
          mfa: deps.mfa,
          mfaLogin: deps.mfaLogin,
          passkeys: deps.passkeys,
        },
        logger: deps.logger,
        metrics: deps.metrics,
        events: deps.events,
        rateLimits: deps.rateLimits,
        sql: deps.sql,
        sessionCookie: new SessionCookiePolicy(deps.config),
      }),
      maxBodySize: BODY_LIMIT_BYTES,
      responseMeta({ errors }) {
        const retryAfter = retryAfterOf(errors);
        return {
          headers:
            retryAfter === undefined ? NO_STORE : { 'Cache-Control': 'no-store', 'Retry-After': String(retryAfter) },
        };
      },
      onError({ error, path }) {
        if (toPublicError(error).log === 'internal') {
          deps.logger.debug({ msg: 'trpc internal error', path });
        }
      },
    }),
  );

  // After the API: a procedure call does not walk the routes of these routers.
  app.use(healthRoutes({ health: deps.health, sql: deps.sql, rateLimits: deps.rateLimits }));
  app.use(wellKnownRoutes(deps.keyring));
  app.use(metricsRoutes(deps.metrics, deps.config.metricsToken));
  if (deps.config.pagesEnabled) app.use(pagesRoutes(deps));

  app.use(notFound);
  app.use(httpErrorHandler(deps.logger));
  return app;
}
