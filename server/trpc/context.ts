import type { Request, Response } from 'express';
import type { Deps } from '../deps.js';
import type { Sql } from '../db/sql.js';
import type { RequestInfo } from '../observability/security-events.js';

export interface Context {
  deps: Deps;
  /** A request-scoped database handle (its own EntityManager fork). */
  sql: Sql;
  req: RequestInfo;
  authorization: string | undefined;
  res: Response;
}

export function contextFactory(deps: Deps) {
  return ({ req, res }: { req: Request; res: Response }): Context => ({
    deps,
    sql: deps.sql(),
    req: {
      requestId: String(res.locals.requestId ?? ''),
      // Express resolves X-Forwarded-For only as far as TRUST_PROXY allows.
      ip: req.ip ?? null,
      userAgent: req.get('user-agent') ?? null,
    },
    authorization: req.get('authorization'),
    res,
  });
}
