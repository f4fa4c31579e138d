import { TRPCError } from '@trpc/server';
import type { AppCode, WeakPasswordReason } from '../shared/app-codes.js';
import { AppError, DatabaseUnavailableError } from './errors.js';
import { BODY_LIMIT_BYTES } from './http/body-limit.js';

/**
 * The one translation from anything thrown to what a caller sees. The tRPC
 * error formatter and middleware, the plain HTTP error handler and the
 * tracing span all read its result, so a code, status, message or
 * `Retry-After` can never disagree between them. Unknown errors become
 * INTERNAL with no detail (driver messages can hold SQL with bound values).
 */

type TrpcCode = TRPCError['code'];

/** Each application code's tRPC code and HTTP status (server-only: the client reads `data.appCode`). */
const CODES: Record<AppCode, { trpc: TrpcCode; status: number }> = {
  INVALID_INPUT: { trpc: 'BAD_REQUEST', status: 400 },
  WEAK_PASSWORD: { trpc: 'BAD_REQUEST', status: 400 },
  INVALID_TOKEN: { trpc: 'BAD_REQUEST', status: 400 },
  INVALID_CREDENTIALS: { trpc: 'UNAUTHORIZED', status: 401 },
  EMAIL_NOT_VERIFIED: { trpc: 'FORBIDDEN', status: 403 },
  ACCOUNT_LOCKED: { trpc: 'TOO_MANY_REQUESTS', status: 429 },
  RATE_LIMITED: { trpc: 'TOO_MANY_REQUESTS', status: 429 },
  INVALID_REFRESH_TOKEN: { trpc: 'UNAUTHORIZED', status: 401 },
  REFRESH_TOKEN_REUSED: { trpc: 'UNAUTHORIZED', status: 401 },
  UNAUTHENTICATED: { trpc: 'UNAUTHORIZED', status: 401 },
  FORBIDDEN: { trpc: 'FORBIDDEN', status: 403 },
  EMAIL_TAKEN: { trpc: 'CONFLICT', status: 409 },
  NOT_FOUND: { trpc: 'NOT_FOUND', status: 404 },
  UNAVAILABLE: { trpc: 'SERVICE_UNAVAILABLE', status: 503 },
  MFA_REQUIRED: { trpc: 'FORBIDDEN', status: 403 },
  INVALID_MFA_CODE: { trpc: 'UNAUTHORIZED', status: 401 },
  MFA_CHALLENGE_EXPIRED: { trpc: 'UNAUTHORIZED', status: 401 },
  REAUTH_REQUIRED: { trpc: 'FORBIDDEN', status: 403 },
  INTERNAL: { trpc: 'INTERNAL_SERVER_ERROR', status: 500 },
};

/** tRPC's own refusals (bad JSON, unknown path, wrong method), as application codes and statuses. */
const TRPC_FALLBACK: Partial<Record<TrpcCode, { appCode: AppCode; status: number }>> = {
  BAD_REQUEST: { appCode: 'INVALID_INPUT', status: 400 },
  PARSE_ERROR: { appCode: 'INVALID_INPUT', status: 400 },
  PAYLOAD_TOO_LARGE: { appCode: 'INVALID_INPUT', status: 413 },
  METHOD_NOT_SUPPORTED: { appCode: 'INVALID_INPUT', status: 405 },
  UNSUPPORTED_MEDIA_TYPE: { appCode: 'INVALID_INPUT', status: 415 },
  UNAUTHORIZED: { appCode: 'UNAUTHENTICATED', status: 401 },
  FORBIDDEN: { appCode: 'FORBIDDEN', status: 403 },
  NOT_FOUND: { appCode: 'NOT_FOUND', status: 404 },
  TOO_MANY_REQUESTS: { appCode: 'RATE_LIMITED', status: 429 },
  SERVICE_UNAVAILABLE: { appCode: 'UNAVAILABLE', status: 503 },
};

/** What a client finds in `error.data` besides tRPC's own `code` and `httpStatus`. */
export interface PublicErrorData {
  appCode: AppCode;
  retryAfter?: number;
  reason?: WeakPasswordReason;
  field?: string;
}

export interface PublicError {
  trpcCode: TrpcCode;
  httpStatus: number;
  message: string;
  data: PublicErrorData;
  /** Why the server should log it: an outage to warn about, or a bug to report. Never sent. */
  log?: 'database_unavailable' | 'internal';
}

// SQLSTATE classes and Node socket codes that mean "no database", not "bad query":
// 08 connection exception, 57P0x shutdown / crash recovery, 53300 too many connections.
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-4]|53300)$/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** True for errors that mean the database cannot be reached (not a query bug). */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e; depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

interface Issue {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message?: string;
}

function inputProblem(cause: unknown): { message: string; field?: string } {
  const issues = (cause as { issues?: Issue[] } | undefined)?.issues;
  const issue = Array.isArray(issues) ? issues[0] : undefined;
  if (!issue) return { message: 'Invalid input' };
  const field = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.') || undefined;
  return { message: `Invalid input${field ? ` at "${field}"` : ''}: ${issue.message ?? 'invalid'}`, field };
}

function fromAppError(e: AppError): PublicError {
  const data: PublicErrorData = { appCode: e.code };
  if (e.retryAfter !== undefined) data.retryAfter = e.retryAfter;
  if (e.reason !== undefined) data.reason = e.reason;
  if (e.field !== undefined) data.field = e.field;
  const { trpc, status } = CODES[e.code];
  const message = e.code === 'INTERNAL' ? 'Internal server error' : e.message;
  return { trpcCode: trpc, httpStatus: status, message, data };
}

const INTERNAL: PublicError = {
  trpcCode: 'INTERNAL_SERVER_ERROR',
  httpStatus: 500,
  message: 'Internal server error',
  data: { appCode: 'INTERNAL' },
  log: 'internal',
};

const UNAVAILABLE: PublicError = {
  trpcCode: 'SERVICE_UNAVAILABLE',
  httpStatus: 503,
  message: 'Service temporarily unavailable',
  data: { appCode: 'UNAVAILABLE' },
  log: 'database_unavailable',
};

/** Anything thrown (AppError, TRPCError, a driver error, a body-parser error) as the public error. */
export function toPublicError(err: unknown): PublicError {
  if (err instanceof AppError) return fromAppError(err);
  if (err instanceof TRPCError) {
    if (err.cause instanceof AppError) return fromAppError(err.cause);
    if (err.cause instanceof TRPCError) return toPublicError(err.cause);
    if (isDatabaseUnavailable(err.cause)) return UNAVAILABLE;
    const known = TRPC_FALLBACK[err.code];
    if (!known) return INTERNAL;
    const data: PublicErrorData = { appCode: known.appCode };
    if (known.appCode !== 'INVALID_INPUT') {
      // tRPC's own refusals (unknown procedure, wrong method) carry safe messages.
      return { trpcCode: err.code, httpStatus: known.status, message: err.message, data };
    }
    const { message, field } = inputProblem(err.cause);
    if (field) data.field = field;
    return { trpcCode: err.code, httpStatus: known.status, message, data };
  }
  if (isDatabaseUnavailable(err)) return UNAVAILABLE;
  // Express body parsing (http-errors): too large, malformed JSON, bad encoding.
  const http = err as { type?: unknown; status?: unknown; statusCode?: unknown };
  const status = typeof http.status === 'number' ? http.status : http.statusCode;
  if (http.type === 'entity.too.large' || status === 413) {
    return {
      trpcCode: 'PAYLOAD_TOO_LARGE',
      httpStatus: 413,
      message: `Request body too large (limit ${BODY_LIMIT_BYTES / 1024} KiB)`,
      data: { appCode: 'INVALID_INPUT' },
    };
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      trpcCode: 'BAD_REQUEST',
      httpStatus: status,
      message: 'Malformed request',
      data: { appCode: 'INVALID_INPUT' },
    };
  }
  return INTERNAL;
}

/** The `Retry-After` value for a set of errors (the longest wait), or undefined. */
export function retryAfterOf(errors: readonly unknown[]): number | undefined {
  const waits = errors.map((e) => toPublicError(e).data.retryAfter ?? 0);
  const longest = Math.max(0, ...waits);
  return longest > 0 ? longest : undefined;
}
