import type { RequestHandler } from 'express';
import { AppError } from '../errors.js';

/**
 * Deepest nesting a request body may have. No procedure input goes past a
 * handful of levels; a 64 KiB body of `[[[[…` is 30,000 levels, which the
 * layers after the parser walk recursively until the stack runs out (a 500
 * for a few bytes of input). Refused here, before any of them runs.
 */
export const MAX_JSON_DEPTH = 32;

export function jsonDepthLimit(max = MAX_JSON_DEPTH): RequestHandler {
  return (req, _res, next) => {
    if (nestedDeeperThan(req.body, max)) {
      next(new AppError('INVALID_INPUT', { message: `Invalid input: nested deeper than ${max} levels` }));
      return;
    }
    next();
  };
}

/** Walks the value without recursion (the check must not fail the way it guards against). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}
