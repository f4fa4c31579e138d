import type { Config } from '../config/config.js';

/**
 * The browser origins allowed to make state-changing requests that the
 * server cannot otherwise tell from cross-site forgeries (page form posts and
 * calls authenticated by the session cookie): the service's own origin
 * (PUBLIC_URL) and CORS_ORIGINS. Anything else is a forged request.
 */
export function allowedOrigins(config: Pick<Config, 'publicUrl' | 'corsOrigins'>): ReadonlySet<string> {
  const origins = new Set<string>(config.corsOrigins);
  origins.add(new URL(config.publicUrl).origin);
  return origins;
}

/** True when the header names an allowed origin; `null` (sandboxed or privacy-stripped) never is. */
export function isAllowedOrigin(origin: string | undefined, allowed: ReadonlySet<string>): boolean {
  return origin !== undefined && allowed.has(origin);
}
