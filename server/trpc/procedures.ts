import { t } from './init.js';
import { authenticate, requireSuperuser } from './middleware/authenticate.middleware.js';
import { errorMapping } from './middleware/error-mapping.middleware.js';

/**
 * The three base procedures. Cross-cutting concerns live here as middleware
 * (error mapping first, so it sees every later failure).
 */
export const router = t.router;
export const publicProcedure = t.procedure.use(errorMapping);
export const userProcedure = publicProcedure.use(authenticate);
export const superuserProcedure = userProcedure.use(requireSuperuser);
