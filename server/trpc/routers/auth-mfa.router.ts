import { mfaPasskeyVerifyInput, mfaTokenInput, mfaVerifyInput, passkeyLoginInput } from '../../../shared/schemas.js';
import { issueTokens } from '../cookie-session.js';
import { publicProcedure, router } from '../procedures.js';

/** The second step of a login: answers to the MfaChallenge that `auth.login` gave. */
export const authMfaRouter = router({
  verify: publicProcedure
    .meta({ rateLimits: ['mfa.ip'] })
    .input(mfaVerifyInput)
    .mutation(({ ctx, input }) =>
      issueTokens(ctx, input.cookie, () => ctx.services.mfaLogin.verifyCode(ctx.sql, input, ctx.req)),
    ),

  passkeyOptions: publicProcedure
    .meta({ rateLimits: ['mfa.ip'] })
    .input(mfaTokenInput)
    .mutation(({ ctx, input }) => ctx.services.passkeys.mfaOptions(ctx.sql, input.mfaToken, ctx.req)),

  passkeyVerify: publicProcedure
    .meta({ rateLimits: ['mfa.ip'] })
    .input(mfaPasskeyVerifyInput)
    .mutation(({ ctx, input }) =>
      issueTokens(ctx, input.cookie, () => ctx.services.passkeys.mfaVerify(ctx.sql, input, ctx.req)),
    ),
});

/** Passwordless sign-in with a discoverable passkey (user verification required). */
export const authPasskeyRouter = router({
  loginOptions: publicProcedure
    .meta({ rateLimits: ['mfa.ip'] })
    .mutation(({ ctx }) => ctx.services.passkeys.loginOptions(ctx.sql)),

  login: publicProcedure
    .meta({ rateLimits: ['mfa.ip'] })
    .input(passkeyLoginInput)
    .mutation(({ ctx, input }) =>
      issueTokens(ctx, input.cookie, () => ctx.services.passkeys.login(ctx.sql, input, ctx.req)),
    ),
});
