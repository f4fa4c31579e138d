import { trace } from '@opentelemetry/api';
import { AppError } from '../../errors.js';
import { t } from '../init.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/**
 * Verifies the bearer access token and the live session; adds `auth` to the
 * context and names the caller on the procedure's span (`enduser.id`). One
 * middleware for both: every layer costs each authenticated call a context
 * copy in tRPC.
 */
export const authenticate = t.middleware(async ({ ctx, next }) => {
  const match = ctx.authorization ? BEARER.exec(ctx.authorization) : null;
  if (!match) throw new AppError('UNAUTHENTICATED');
  const auth = await ctx.services.sessions.authenticate(ctx.sql, match[1]!, ctx.req);
  trace.getActiveSpan()?.setAttribute('enduser.id', auth.user.id);
  return next({ ctx: { auth } });
});

export const requireSuperuser = t.middleware(async ({ ctx, next, path }) => {
  const auth = (ctx as { auth?: { user: { id: string; is_superuser: boolean } } }).auth;
  if (!auth?.user.is_superuser) {
    // A signed-in user probing the admin API is worth an audit row.
    await ctx.events.emit(ctx.sql, ctx.req, {
      type: 'access_denied',
      outcome: 'failure',
      userId: auth?.user.id ?? null,
      details: { procedure: path },
    });
    throw new AppError('FORBIDDEN');
  }
  return next();
});
