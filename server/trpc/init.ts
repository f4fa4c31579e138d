import { initTRPC, type TRPC_ERROR_CODE_KEY, type TRPC_ERROR_CODE_NUMBER, type TRPCRouterBuilder } from '@trpc/server';
import type { Context } from './context.js';
import { toPublicError, type PublicErrorData } from '../public-error.js';

/** Per-procedure settings read by middleware. */
export interface Meta {
  /** Rate-limit rules applied to this procedure (names from RATE_LIMITS). */
  rateLimits?: readonly string[];
}

/** The error every procedure answers with: tRPC's code plus the stable `appCode`. */
export interface ErrorShape {
  code: TRPC_ERROR_CODE_NUMBER;
  message: string;
  data: PublicErrorData & { code: TRPC_ERROR_CODE_KEY; httpStatus: number; path: string | undefined };
}

const base = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    // No stack traces or internals in responses, in any environment.
    isDev: false,
    errorFormatter({ shape, error }): ErrorShape {
      const { message, data } = toPublicError(error);
      return {
        code: shape.code,
        message,
        data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, ...data },
      };
    },
  });

/**
 * The root types routers declare. `ctx` is deliberately `object`: built
 * procedures do not carry the context type, so only the router root would,
 * and it would drag Deps (MikroORM, Express, pino) into the AppRouter type
 * that @secure-auth/client bundles into its published declarations.
 * Procedures and middleware still see the full Context.
 */
export interface RouterRootTypes {
  ctx: object;
  meta: Meta;
  errorShape: ErrorShape;
  transformer: false;
}

export const t = base as unknown as Omit<typeof base, 'router'> & { router: TRPCRouterBuilder<RouterRootTypes> };
