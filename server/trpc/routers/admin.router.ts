import {
  adminUserGetInput,
  adminUsersListInput,
  securityEventsListInput,
  setActiveInput,
  setSuperuserInput,
  userIdInput,
} from '../../../shared/schemas.js';
import type { AdminActor } from '../../services/admin.service.js';
import { router, superuserProcedure } from '../procedures.js';

/** The calling superuser, as the audit trail names them. */
const actorOf = (ctx: { auth: { user: { id: string } } }): AdminActor => ({
  id: ctx.auth.user.id,
  label: ctx.auth.user.id,
  via: 'api',
});

const usersRouter = router({
  list: superuserProcedure
    .input(adminUsersListInput)
    .query(({ ctx, input }) => ctx.services.admin.listUsers(ctx.sql, actorOf(ctx), input ?? {}, ctx.req)),

  get: superuserProcedure
    .input(adminUserGetInput)
    .query(({ ctx, input }) => ctx.services.admin.getUser(ctx.sql, actorOf(ctx), input, ctx.req)),

  unlock: superuserProcedure.input(userIdInput).mutation(async ({ ctx, input }) => {
    await ctx.services.admin.unlock(ctx.sql, actorOf(ctx), input.userId, ctx.req);
    return { ok: true as const };
  }),

  setSuperuser: superuserProcedure.input(setSuperuserInput).mutation(async ({ ctx, input }) => {
    await ctx.services.admin.setSuperuser(ctx.sql, actorOf(ctx), input.userId, input.isSuperuser, ctx.req);
    return { ok: true as const };
  }),

  setActive: superuserProcedure.input(setActiveInput).mutation(async ({ ctx, input }) => {
    await ctx.services.admin.setActive(ctx.sql, actorOf(ctx), input.userId, input.isActive, ctx.req);
    return { ok: true as const };
  }),

  revokeSessions: superuserProcedure.input(userIdInput).mutation(async ({ ctx, input }) => {
    const revoked = await ctx.services.admin.revokeSessions(ctx.sql, actorOf(ctx), input.userId, ctx.req);
    return { revoked };
  }),

  resetMfa: superuserProcedure.input(userIdInput).mutation(async ({ ctx, input }) => {
    await ctx.services.admin.resetMfa(ctx.sql, actorOf(ctx), input.userId, ctx.req);
    return { ok: true as const };
  }),

  forcePasswordReset: superuserProcedure.input(userIdInput).mutation(async ({ ctx, input }) => {
    await ctx.services.admin.forcePasswordReset(ctx.sql, actorOf(ctx), input.userId, ctx.req);
    return { ok: true as const };
  }),
});

const securityEventsRouter = router({
  list: superuserProcedure
    .input(securityEventsListInput)
    .query(({ ctx, input }) => ctx.services.admin.listSecurityEvents(ctx.sql, actorOf(ctx), input ?? {}, ctx.req)),
});

export const adminRouter = router({
  users: usersRouter,
  securityEvents: securityEventsRouter,
});
