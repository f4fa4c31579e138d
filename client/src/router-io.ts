import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './router-type.js';

/**
 * Input types of every procedure.
 * @example
 * ```ts
 * type ChangePassword = RouterInputs['auth']['changePassword']; // { currentPassword: string; newPassword: string }
 * ```
 */
export type RouterInputs = inferRouterInputs<AppRouter>;
/**
 * Output types of every procedure.
 * @example
 * ```ts
 * type Devices = RouterOutputs['sessions']['list']; // SessionInfo[]
 * ```
 */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** What `auth.login` takes. */
export type LoginInput = RouterInputs['auth']['login'];
