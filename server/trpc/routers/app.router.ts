import { publicProcedure, router } from '../procedures.js';
import { adminRouter } from './admin.router.js';
import { authRouter } from './auth.router.js';
import { mfaRouter } from './mfa.router.js';
import { sessionsRouter } from './sessions.router.js';

export const appRouter = router({
  health: publicProcedure.query(({ ctx }) => ctx.services.health.check(ctx.sql)),
  auth: authRouter,
  sessions: sessionsRouter,
  admin: adminRouter,
  mfa: mfaRouter,
});

export type AppRouter = typeof appRouter;
