import helmet from 'helmet';
import cors from 'cors';
import type { RequestHandler } from 'express';

/** A JSON API serves no documents: the strictest CSP, no framing, no sniffing. */
export function securityHeaders(isProduction: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    crossOriginResourcePolicy: { policy: 'same-site' },
    // HSTS only where TLS is guaranteed (production behind its load balancer).
    strictTransportSecurity: isProduction ? { maxAge: 31536000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  });
}

/**
 * CORS only for the configured browser origins; none by default. Those
 * origins may send credentials (the session cookie of a browser app on
 * another origin) when SESSION_COOKIE is on; for any other origin no CORS header is sent at all, so
 * the browser neither sends the cookie nor lets the page read the answer.
 */
export function corsPolicy(origins: string[], sessionCookie: boolean): RequestHandler {
  const allowed = new Set(origins);
  return cors({
    origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
    // Without cookie sessions tokens travel only in headers: no credentials mode.
    credentials: sessionCookie,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-Request-ID', 'traceparent', 'tracestate'],
    exposedHeaders: ['X-Request-ID', 'Retry-After'],
    maxAge: 600,
  });
}
