import type { TRPCError } from '@trpc/server';
import type { AppCode, WeakPasswordReason } from '../../shared/app-codes.js';
import { AppError } from '../errors.js';

/** What a client finds in `error.data` besides tRPC's own `code` and `httpStatus`. */
export interface AppErrorData {
  appCode: AppCode;
  retryAfter?: number;
  reason?: WeakPasswordReason;
  field?: string;
}

const FALLBACK_APP_CODE: Record<string, AppCode> = {
  BAD_REQUEST: 'INVALID_INPUT',
  PARSE_ERROR: 'INVALID_INPUT',
  PAYLOAD_TOO_LARGE: 'INVALID_INPUT',
  // Wrong HTTP method or content type: the caller's request is malformed.
  METHOD_NOT_SUPPORTED: 'INVALID_INPUT',
  UNSUPPORTED_MEDIA_TYPE: 'INVALID_INPUT',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'UNAVAILABLE',
};

interface Issue {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message?: string;
}

function firstIssue(cause: unknown): Issue | undefined {
  const issues = (cause as { issues?: Issue[] } | undefined)?.issues;
  return Array.isArray(issues) ? issues[0] : undefined;
}

function issuePath(issue: Issue): string {
  return (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
}

/** Translates any error to the public shape: stable appCode, no internals. */
export function describeError(error: TRPCError): { message: string; data: AppErrorData } {
  const cause = error.cause;
  if (cause instanceof AppError) {
    const data: AppErrorData = { appCode: cause.code };
    if (cause.retryAfter !== undefined) data.retryAfter = cause.retryAfter;
    if (cause.reason) data.reason = cause.reason;
    if (cause.field) data.field = cause.field;
    return { message: cause.code === 'INTERNAL' ? 'Internal server error' : cause.message, data };
  }
  const appCode = FALLBACK_APP_CODE[error.code] ?? 'INTERNAL';
  if (appCode === 'INVALID_INPUT') {
    const issue = firstIssue(cause);
    if (issue) {
      const field = issuePath(issue) || undefined;
      return {
        message: `Invalid input${field ? ` at "${field}"` : ''}: ${issue.message ?? 'invalid'}`,
        data: { appCode, ...(field ? { field } : {}) },
      };
    }
    return { message: 'Invalid input', data: { appCode } };
  }
  if (appCode === 'INTERNAL') return { message: 'Internal server error', data: { appCode } };
  // tRPC's own errors (unknown procedure, wrong method) carry safe messages.
  return { message: error.message, data: { appCode } };
}
