import type { AppCode, WeakPasswordReason } from '../shared/app-codes.js';

export interface AppErrorOptions {
  /** Seconds the caller should wait (sent as data.retryAfter and Retry-After). */
  retryAfter?: number;
  /** For WEAK_PASSWORD: why the password was refused. */
  reason?: WeakPasswordReason;
  /** For INVALID_INPUT: the offending field. */
  field?: string;
  /** A safe, client-facing message; defaults to the code. Never internal detail. */
  message?: string;
  cause?: unknown;
}

/** The one error type services throw; translated to tRPC in one place. */
export class AppError extends Error {
  readonly retryAfter?: number;
  readonly reason?: WeakPasswordReason;
  readonly field?: string;
  constructor(readonly code: AppCode, opts: AppErrorOptions = {}) {
    super(opts.message ?? code, { cause: opts.cause });
    this.name = 'AppError';
    this.retryAfter = opts.retryAfter === undefined ? undefined : Math.max(1, Math.ceil(opts.retryAfter));
    this.reason = opts.reason;
    this.field = opts.field;
  }
}

/** True for errors that mean the database cannot be reached (not a query bug). */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    const any = e as { code?: string; message?: string; cause?: unknown; name?: string };
    if (typeof any.code === 'string') {
      if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '08006', '08001', '08003', '08004'].includes(any.code)) return true;
    }
    const msg = typeof any.message === 'string' ? any.message : '';
    if (/Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Knex: Timeout acquiring a connection|the database system is (starting up|shutting down)|terminating connection|Client has encountered a connection error/i.test(msg)) return true;
    e = any.cause;
  }
  return false;
}
