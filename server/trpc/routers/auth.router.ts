import {
  changePasswordInput,
  emailOnlyInput,
  loginInput,
  refreshInput,
  registerInput,
  resetPasswordInput,
  verifyEmailInput,
} from '../../../shared/schemas.js';
import { toPublicUser } from '../../services/user-dto.js';
import { endSession, issueTokens, refreshTokens } from '../cookie-session.js';
import { publicProcedure, router, userProcedure } from '../procedures.js';
import { authMfaRouter, authPasskeyRouter } from './auth-mfa.router.js';

export const authRouter = router({
  mfa: authMfaRouter,
  passkey: authPasskeyRouter,

  register: publicProcedure
    .meta({ rateLimits: ['register.ip'] })
    .input(registerInput)
    .mutation(({ ctx, input }) => ctx.services.auth.register(ctx.sql, input, ctx.req)),

  // Guessing one-time tokens: counted per client address.
  verifyEmail: publicProcedure
    .meta({ rateLimits: ['token.ip'] })
    .input(verifyEmailInput)
    .mutation(({ ctx, input }) => ctx.services.auth.verifyEmail(ctx.sql, input.token, ctx.req)),

  resendVerification: publicProcedure
    .meta({ rateLimits: ['reset.ip', 'reset.email'] })
    .input(emailOnlyInput)
    .mutation(({ ctx, input }) => ctx.services.auth.resendVerification(ctx.sql, input.email, ctx.req)),

  login: publicProcedure
    .meta({ rateLimits: ['login.ip', 'login.email'] })
    .input(loginInput)
    .mutation(({ ctx, input }) =>
      issueTokens(ctx, input.cookie, () => ctx.services.auth.login(ctx.sql, input, ctx.req)),
    ),

  refresh: publicProcedure
    .meta({ rateLimits: ['refresh.ip'] })
    .input(refreshInput)
    .mutation(({ ctx, input }) => refreshTokens(ctx, input?.refreshToken)),

  logout: publicProcedure.input(refreshInput).mutation(async ({ ctx, input }) => {
    await endSession(ctx, input?.refreshToken);
    return { ok: true as const };
  }),

  me: userProcedure.query(({ ctx }) => toPublicUser(ctx.auth.user)),

  // Each call checks the current password with a full hash: counted per user.
  changePassword: userProcedure
    .meta({ rateLimits: ['default.ip', 'password.user'] })
    .input(changePasswordInput)
    .mutation(({ ctx, input }) =>
      issueTokens(ctx, input.cookie, () => ctx.services.auth.changePassword(ctx.sql, ctx.auth.user.id, input, ctx.req)),
    ),

  requestPasswordReset: publicProcedure
    .meta({ rateLimits: ['reset.ip', 'reset.email'] })
    .input(emailOnlyInput)
    .mutation(({ ctx, input }) => ctx.services.auth.requestPasswordReset(ctx.sql, input.email, ctx.req)),

  resetPassword: publicProcedure
    .meta({ rateLimits: ['token.ip'] })
    .input(resetPasswordInput)
    .mutation(({ ctx, input }) => ctx.services.auth.resetPassword(ctx.sql, input, ctx.req)),
});
