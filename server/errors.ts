import type { AppCode, WeakPasswordReason } from '../shared/app-codes.js';

/** Codes whose answer tells the caller when to try again. */
export type RetryableCode = 'ACCOUNT_LOCKED' | 'RATE_LIMITED' | 'UNAVAILABLE';

interface CommonOptions {
  /** A safe, client-facing message; defaults to the code. Never internal detail. */
  message?: string;
  cause?: unknown;
}

/**
 * The options each code may carry, so a caller cannot send `retryAfter` with
 * a wrong password or forget the `reason` of a refused password.
 */
export type AppErrorOptions<C extends AppCode> = CommonOptions &
  (C extends 'WEAK_PASSWORD'
    ? { reason: WeakPasswordReason }
    : C extends RetryableCode
      ? { retryAfter?: number }
      : C extends 'INVALID_INPUT'
        ? { field?: string }
        : object);

type OptionalArgs<C extends AppCode> = C extends 'WEAK_PASSWORD' ? [AppErrorOptions<C>] : [AppErrorOptions<C>?];

/** The one error type services throw; `toPublicError` (public-error.ts) turns it into what a caller sees. */
export class AppError<C extends AppCode = AppCode> extends Error {
  readonly code: C;
  /** Seconds the caller should wait (sent as data.retryAfter and Retry-After). */
  readonly retryAfter?: number;
  /** For WEAK_PASSWORD: why the password was refused. */
  readonly reason?: WeakPasswordReason;
  /** For INVALID_INPUT: the offending field. */
  readonly field?: string;

  constructor(code: C, ...[opts]: OptionalArgs<C>) {
    const o = (opts ?? {}) as CommonOptions & { retryAfter?: number; reason?: WeakPasswordReason; field?: string };
    super(o.message ?? code, { cause: o.cause });
    this.name = 'AppError';
    this.code = code;
    if (o.retryAfter !== undefined) this.retryAfter = Math.max(1, Math.ceil(o.retryAfter));
    if (o.reason !== undefined) this.reason = o.reason;
    if (o.field !== undefined) this.field = o.field;
  }
}

/**
 * Thrown by the query runner when the database cannot be reached (connection
 * refused, dropped, pool timeout): recognised by the driver's codes where it
 * gives them, and by where it failed (before any SQL ran) where it does not.
 */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super('database unavailable', { cause });
    this.name = 'DatabaseUnavailableError';
  }
}
