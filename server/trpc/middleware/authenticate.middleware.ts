import { AppError } from '../../errors.js';
import { t } from '../init.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/** Verifies the bearer access token and the live session; adds `auth` to the context. */
export const authenticate = t.middleware(async ({ ctx, next }) => {
  const match = ctx.authorization ? BEARER.exec(ctx.authorization) : null;
  if (!match) throw new AppError('UNAUTHENTICATED');
  const auth = await ctx.services.sessions.authenticate(ctx.sql, match[1]!);
  return next({ ctx: { auth } });
});

export const requireSuperuser = t.middleware(async ({ ctx, next }) => {
  const auth = (ctx as { auth?: { user: { is_superuser: boolean } } }).auth;
  if (!auth?.user.is_superuser) throw new AppError('FORBIDDEN');
  return next();
});
