import {
  mfaRemoveInput,
  passkeyRegisterInput,
  passkeyRegisterOptionsInput,
  recoveryCodesRegenerateInput,
  totpConfirmInput,
  totpEnrollInput,
} from '../../../shared/schemas.js';
import { router, userProcedure } from '../procedures.js';

/** The signed-in user's second factors. Changes need re-auth (see MfaService.reauth). */
export const mfaRouter = router({
  list: userProcedure.query(({ ctx }) => ctx.services.mfa.list(ctx.sql, ctx.auth.user.id)),

  totp: router({
    enroll: userProcedure
      .meta({ rateLimits: ['mfa.ip'] })
      .input(totpEnrollInput)
      .mutation(({ ctx, input }) => ctx.services.mfa.enrollTotp(ctx.sql, ctx.auth.user.id, input, ctx.req)),

    confirm: userProcedure
      .meta({ rateLimits: ['mfa.ip'] })
      .input(totpConfirmInput)
      .mutation(({ ctx, input }) =>
        ctx.services.mfa.confirmTotp(ctx.sql, ctx.auth.user.id, ctx.auth.claims.sid, input, ctx.req),
      ),
  }),

  passkey: router({
    registerOptions: userProcedure
      .meta({ rateLimits: ['mfa.ip'] })
      .input(passkeyRegisterOptionsInput)
      .mutation(({ ctx, input }) => ctx.services.passkeys.registerOptions(ctx.sql, ctx.auth.user.id, input, ctx.req)),

    register: userProcedure
      .meta({ rateLimits: ['mfa.ip'] })
      .input(passkeyRegisterInput)
      .mutation(({ ctx, input }) =>
        ctx.services.passkeys.register(ctx.sql, ctx.auth.user.id, ctx.auth.claims.sid, input, ctx.req),
      ),
  }),

  remove: userProcedure
    .meta({ rateLimits: ['mfa.ip'] })
    .input(mfaRemoveInput)
    .mutation(({ ctx, input }) => ctx.services.mfa.remove(ctx.sql, ctx.auth.user.id, input, ctx.req)),

  recoveryCodes: router({
    regenerate: userProcedure
      .meta({ rateLimits: ['mfa.ip'] })
      .input(recoveryCodesRegenerateInput)
      .mutation(({ ctx, input }) =>
        ctx.services.mfa.regenerateRecoveryCodes(ctx.sql, ctx.auth.user.id, input, ctx.req),
      ),
  }),
});
