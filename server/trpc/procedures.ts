import { t } from './init.js';
import { authenticate, requireSuperuser } from './middleware/authenticate.middleware.js';
import { errorMapping } from './middleware/error-mapping.middleware.js';
import { rateLimit, userRateLimit } from './middleware/rate-limit.middleware.js';
import { tracing } from './middleware/tracing.middleware.js';

/**
 * The three base procedures. Cross-cutting concerns live here as middleware:
 * the tracing span first (it covers and records everything below), error
 * mapping next (so it sees every later failure), then the rate limit, before
 * any token check, hash or query is spent on a call that will be refused;
 * per-user limits follow the access-token check, which names the user.
 */
export const router = t.router;
export const publicProcedure = t.procedure.use(tracing).use(errorMapping).use(rateLimit);
export const userProcedure = publicProcedure.use(authenticate).use(userRateLimit);
export const superuserProcedure = userProcedure.use(requireSuperuser);
