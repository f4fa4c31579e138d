import { mfaVerifyInput } from '../../../shared/schemas.js';
import { publicProcedure, router } from '../procedures.js';

/** The second step of a login: answers to the MfaChallenge that `auth.login` gave. */
export const authMfaRouter = router({
  verify: publicProcedure
    .meta({ rateLimits: ['mfa.ip'] })
    .input(mfaVerifyInput)
    .mutation(({ ctx, input }) => ctx.services.mfaLogin.verifyCode(ctx.sql, input, ctx.req)),
});
