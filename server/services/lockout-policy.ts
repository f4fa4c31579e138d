/**
 * Pure lockout arithmetic. A lockout that starts within 24 h of the previous
 * one's start lasts twice as long as that one, capped so that an attacker
 * can never lock an owner out for long.
 */
export interface LockoutSettings {
  threshold: number;
  baseMinutes: number;
  maxMinutes: number;
}

export interface PreviousLock {
  lockedAt: Date;
  seconds: number;
}

const DAY_MS = 24 * 3600 * 1000;

export function lockoutSeconds(settings: LockoutSettings, now: Date, previous?: PreviousLock): number {
  const base = settings.baseMinutes * 60;
  const cap = settings.maxMinutes * 60;
  if (previous && now.getTime() - previous.lockedAt.getTime() < DAY_MS) {
    return Math.min(cap, Math.max(base, previous.seconds * 2));
  }
  return Math.min(cap, base);
}

export function reachesThreshold(settings: LockoutSettings, failedAttempts: number): boolean {
  return failedAttempts >= settings.threshold;
}

/** Seconds until `until`, at least 1 (for Retry-After). */
export function secondsUntil(until: Date, now: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}
