import { revokeAllInput, sessionRevokeInput } from '../../../shared/schemas.js';
import { router, userProcedure } from '../procedures.js';

export const sessionsRouter = router({
  list: userProcedure.query(({ ctx }) => ctx.deps.sessions.list(ctx.sql, ctx.auth.user.id, ctx.auth.claims.sid)),

  revoke: userProcedure.input(sessionRevokeInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.sessions.revoke(ctx.sql, ctx.auth.user.id, input.sessionId, ctx.req);
    return { ok: true as const };
  }),

  revokeAll: userProcedure.input(revokeAllInput).mutation(async ({ ctx, input }) => {
    const except = input?.exceptCurrent ? ctx.auth.claims.sid : undefined;
    const revoked = await ctx.deps.sessions.revokeAll(ctx.sql, ctx.auth.user.id, ctx.req, except);
    return { revoked };
  }),
});
