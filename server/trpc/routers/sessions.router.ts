import { revokeAllInput, sessionRevokeInput } from '../../../shared/schemas.js';
import { router, userProcedure } from '../procedures.js';

export const sessionsRouter = router({
  list: userProcedure.query(({ ctx }) => ctx.services.sessions.list(ctx.sql, ctx.auth.user.id, ctx.auth.claims.sid)),

  revoke: userProcedure.input(sessionRevokeInput).mutation(async ({ ctx, input }) => {
    await ctx.services.sessions.revoke(ctx.sql, ctx.auth.user.id, input.sessionId, ctx.req);
    return { ok: true as const };
  }),

  revokeAll: userProcedure.input(revokeAllInput).mutation(async ({ ctx, input }) => {
    const except = input?.exceptCurrent ? ctx.auth.claims.sid : undefined;
    const revoked = await ctx.services.sessions.revokeAll(ctx.sql, ctx.auth.user.id, ctx.req, except);
    return { revoked };
  }),
});
