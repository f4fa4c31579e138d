import { z } from 'zod';

/**
 * Input schemas shared by server and client. Limits here are input limits
 * (bounded memory and hashing work); the password *policy* (minimum length,
 * guessability) is applied by the server, which knows its configuration.
 */

// Control characters (NUL above all, which PostgreSQL refuses in text) never
// belong in an address or a name; refusing them here makes them a clean
// INVALID_INPUT instead of a database error.
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

// RFC 5321 caps a path at 254 characters; anything longer is not an address.
export const emailSchema = z
  .string()
  .trim()
  .min(3)
  .max(254)
  .regex(NO_CONTROL_CHARS, 'must not contain control characters')
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');

// 256 characters is the policy's maximum, but the API makes every length
// refusal WEAK_PASSWORD/too_long, so the input schema only caps memory: the
// 64 KiB request body limit already bounds it, and the policy refuses
// anything over 256 before a new password is hashed.
export const passwordSchema = z.string().min(1).max(64 * 1024);

export const opaqueTokenSchema = z
  .string()
  .min(16)
  .max(512)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a base64url token');

export const registerInput = z.object({
  email: emailSchema,
  password: passwordSchema,
  fullName: z.string().trim().max(200).regex(NO_CONTROL_CHARS, 'must not contain control characters').optional(),
});
export const verifyEmailInput = z.object({ token: opaqueTokenSchema });
export const emailOnlyInput = z.object({ email: emailSchema });
export const loginInput = z.object({ email: emailSchema, password: passwordSchema });
export const refreshInput = z.object({ refreshToken: opaqueTokenSchema });
export const changePasswordInput = z.object({
  currentPassword: passwordSchema,
  newPassword: passwordSchema,
});
export const resetPasswordInput = z.object({
  token: opaqueTokenSchema,
  newPassword: passwordSchema,
});
export const sessionRevokeInput = z.object({ sessionId: z.uuid() });
export const revokeAllInput = z.object({ exceptCurrent: z.boolean().optional() }).optional();

export const userIdInput = z.object({ userId: z.uuid() });
export const adminUsersListInput = z
  .object({
    query: z.string().trim().max(254).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.number().int().min(1).max(100).optional(),
  })
  .optional();
export const adminUserGetInput = z.union([
  z.object({ userId: z.uuid() }),
  z.object({ email: emailSchema }),
]);
export const setSuperuserInput = z.object({ userId: z.uuid(), isSuperuser: z.boolean() });
export const setActiveInput = z.object({ userId: z.uuid(), isActive: z.boolean() });
export const securityEventsListInput = z
  .object({
    userId: z.uuid().optional(),
    type: z.string().max(64).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.number().int().min(1).max(200).optional(),
  })
  .optional();

