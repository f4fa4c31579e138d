import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { PageDeps } from './page-deps.js';
import { AppError } from '../../errors.js';
import type { RequestInfo } from '../../observability/security-events.js';
import { ipKey } from '../../rate-limit/ip-key.js';
import { allowedOrigins, isAllowedOrigin } from '../origin-policy.js';
import { html } from './html.js';
import { sendPage } from './layout.js';

/** The request as the services record it (security events, sessions). */
export function requestInfo(req: Request, res: Response): RequestInfo {
  return {
    requestId: String(res.locals.requestId ?? ''),
    // Express resolves X-Forwarded-For only as far as TRUST_PROXY allows.
    ip: req.ip ?? null,
    userAgent: req.get('user-agent') ?? null,
  };
}

/**
 * A page form carries its token in the form, so no cookie makes a forged
 * post worth anything; still, a post whose Origin names another site is
 * refused (a foreign page submitting a victim's mailed link, or a password
 * of the attacker's choosing, into this service).
 */
export function sameOriginPosts(deps: PageDeps): RequestHandler {
  const allowed = allowedOrigins(deps.config);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (req.method !== 'POST' || origin === undefined || isAllowedOrigin(origin, allowed)) {
      next();
      return;
    }
    sendPage(res, 403, {
      title: 'Request refused',
      body: html`<h1>Request refused</h1>
<p class="error" role="alert">This form was sent from another website, so it was not accepted.
Open the link from your email again and submit the form on this page.</p>`,
    });
  };
}

/**
 * Counts a page post against the same rate-limit rule as the matching
 * procedure (one-time tokens: `token.ip`), so the pages are no cheaper a
 * way to guess tokens than the API.
 */
export async function consumeRateLimit(deps: PageDeps, rule: string, req: Request): Promise<void> {
  const store = deps.rateLimits;
  if (!store) return;
  try {
    await store.limiter(rule).consume(req.ip ? ipKey(req.ip) : 'unknown');
  } catch (err) {
    if (err instanceof RateLimiterRes) {
      deps.metrics.rateLimitExceeded.inc({ limit: rule });
      throw new AppError('RATE_LIMITED', { retryAfter: err.msBeforeNext / 1000 });
    }
    // The shared store is unreachable: token rules fail open, as in the API.
    if (store.failsClosed(rule)) throw new AppError('UNAVAILABLE');
  }
}
