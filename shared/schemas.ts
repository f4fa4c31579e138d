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
export const passwordSchema = z
  .string()
  .min(1)
  .max(64 * 1024);

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
/**
 * `cookie: true` on a call that answers a token pair: the refresh token is
 * set in the httpOnly session cookie and left out of the body (browser apps).
 */
export const cookieFlag = z.boolean().optional();
export const loginInput = z.object({ email: emailSchema, password: passwordSchema, cookie: cookieFlag });
/** Without `refreshToken`, `auth.refresh` and `auth.logout` use the session cookie. */
export const refreshInput = z.object({ refreshToken: opaqueTokenSchema.optional() }).optional();
export const changePasswordInput = z.object({
  currentPassword: passwordSchema,
  newPassword: passwordSchema,
  cookie: cookieFlag,
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
export const adminUserGetInput = z.union([z.object({ userId: z.uuid() }), z.object({ email: emailSchema })]);
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

// Second factors. A code is a 6-digit TOTP code or a recovery code
// (`xxxxx-xxxxx`, with or without the dash, any case); spaces are ignored.
export const mfaCodeSchema = z
  .string()
  .trim()
  .min(6)
  .max(32)
  .regex(/^[A-Za-z0-9 -]+$/, 'must be a 6-digit code or a recovery code');
const factorNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(NO_CONTROL_CHARS, 'must not contain control characters');
/** Re-auth for a factor change: the current password, or a current second-factor code. */
const reauthFields = { currentPassword: passwordSchema.optional(), code: mfaCodeSchema.optional() };

export const mfaVerifyInput = z.object({ mfaToken: opaqueTokenSchema, code: mfaCodeSchema, cookie: cookieFlag });
export const totpEnrollInput = z.object({ name: factorNameSchema.optional(), ...reauthFields });
export const totpConfirmInput = z.object({
  factorId: z.uuid(),
  code: z
    .string()
    .trim()
    .regex(/^\d{6}$/, 'must be 6 digits'),
});
export const mfaRemoveInput = z.object({ factorId: z.uuid(), ...reauthFields });
export const recoveryCodesRegenerateInput = z.object(reauthFields);

// Passkey ceremony responses as @simplewebauthn/browser returns them. Only
// the shape is checked here; the server verifies every byte.
const b64url = z
  .string()
  .max(16 * 1024)
  .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
const credentialFields = {
  id: b64url.min(1).max(1400),
  rawId: b64url.min(1).max(1400),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()),
};
export const passkeyRegistrationResponse = z.object({
  ...credentialFields,
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    authenticatorData: b64url.optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url.optional(),
  }),
});
export const passkeyAuthenticationResponse = z.object({
  ...credentialFields,
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
});
export const passkeyRegisterOptionsInput = z.object(reauthFields);
export const passkeyRegisterInput = z.object({
  response: passkeyRegistrationResponse,
  name: factorNameSchema.optional(),
});
export const mfaTokenInput = z.object({ mfaToken: opaqueTokenSchema });
export const mfaPasskeyVerifyInput = z.object({
  mfaToken: opaqueTokenSchema,
  response: passkeyAuthenticationResponse,
  cookie: cookieFlag,
});
export const passkeyLoginInput = z.object({
  challengeId: z.uuid(),
  response: passkeyAuthenticationResponse,
  cookie: cookieFlag,
});
