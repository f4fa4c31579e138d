import type { Request, Response } from 'express';
import type { Sql } from '../db/sql.js';
import type { SessionCookiePolicy } from '../http/session-cookie.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import { clientAddress } from '../rate-limit/ip-key.js';
import type { RateLimitStore } from '../rate-limit/rate-limit-store.js';
import type { AdminService } from '../services/admin.service.js';
import type { AuthService } from '../services/auth.service.js';
import type { HealthService } from '../services/health.service.js';
import type { MfaLoginService } from '../services/mfa-login.service.js';
import type { MfaService } from '../services/mfa.service.js';
import type { PasskeyService } from '../services/passkey.service.js';
import type { SessionService } from '../services/session.service.js';

/** What procedures may call: the domain services, nothing below them (no ORM, repositories or hasher). */
export interface Services {
  auth: AuthService;
  sessions: SessionService;
  admin: AdminService;
  health: HealthService;
  mfa: MfaService;
  mfaLogin: MfaLoginService;
  passkeys: PasskeyService;
}

/** What the cross-cutting middleware needs: logs, metrics, events, and the rate-limit counters. */
export interface Observers {
  logger: Logger;
  metrics: Metrics;
  events: SecurityEvents;
  /** Undefined when rate limiting is off (RATE_LIMIT_ENABLED). */
  rateLimits?: RateLimitStore;
}

/** Everything the tRPC layer is given, built once per app by the composition root. */
export interface TrpcDependencies extends Observers {
  services: Services;
  /** A new request-scoped database handle (services run their statements and transactions on it). */
  sql: () => Sql;
  /** The browser session cookie: whether it is on, and which origins may use it. */
  sessionCookie: SessionCookiePolicy;
}

export interface Context extends Observers {
  services: Services;
  /** This request's database handle, passed through to the services. */
  sql: Sql;
  req: RequestInfo;
  authorization: string | undefined;
  res: Response;
  sessionCookie: SessionCookiePolicy;
}

export function contextFactory(d: TrpcDependencies) {
  return ({ req, res }: { req: Request; res: Response }): Context => ({
    services: d.services,
    logger: d.logger,
    metrics: d.metrics,
    events: d.events,
    rateLimits: d.rateLimits,
    sql: d.sql(),
    req: {
      requestId: String(res.locals.requestId ?? ''),
      // Express resolves X-Forwarded-For only as far as TRUST_PROXY allows;
      // a resolved value that is not an IP address is ignored.
      ip: clientAddress(req.ip, req.socket.remoteAddress),
      userAgent: req.get('user-agent') ?? null,
    },
    authorization: req.get('authorization'),
    res,
    sessionCookie: d.sessionCookie,
  });
}
