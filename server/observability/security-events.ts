import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { Sql } from '../db/sql.js';
import type { SecurityEventRepository } from '../db/repositories/security-event.repository.js';
import type { Clock } from '../security/clock.js';
import type { Logger } from './logger.js';
import { ipKey } from '../rate-limit/ip-key.js';
import { maskEmail } from './mask.js';
import type { Metrics } from './metrics.js';

export type SecurityEventType =
  | 'user_registration'
  | 'email_verified'
  | 'auth_success'
  | 'auth_failure'
  | 'auth_failure_burst'
  | 'account_lockout'
  | 'account_unlocked'
  | 'token_refresh'
  | 'refresh_token_reuse'
  | 'logout'
  | 'session_revoked'
  | 'password_changed'
  | 'password_reset_requested'
  | 'password_reset_completed'
  | 'rate_limit_exceeded'
  | 'admin_action'
  | 'access_denied'
  | 'revoked_token_used'
  | 'mfa_enrolled'
  | 'mfa_removed'
  | 'mfa_success'
  | 'mfa_failure'
  | 'recovery_code_used'
  | 'recovery_codes_regenerated'
  | 'passkey_registered'
  | 'passkey_counter_regression'
  | 'mfa_reset';

/** Who and where: filled from the request by the tRPC context. */
export interface RequestInfo {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

export interface SecurityEventInput {
  type: SecurityEventType;
  outcome: 'success' | 'failure';
  userId?: string | null;
  email?: string | null;
  details?: Record<string, unknown>;
}

// A passkey whose counter went backwards may have been cloned: an alert.
const ALERTS = new Set<SecurityEventType>([
  'account_lockout',
  'refresh_token_reuse',
  'auth_failure_burst',
  'passkey_counter_regression',
]);
const WARNINGS = new Set<SecurityEventType>([
  'auth_failure',
  'rate_limit_exceeded',
  'session_revoked',
  'admin_action',
  'access_denied',
  'revoked_token_used',
  'mfa_failure',
  'mfa_removed',
  'mfa_reset',
  'recovery_code_used',
]);
const BURST_THRESHOLD = 10;
const USER_AGENT_MAX = 512;
const BURST_WINDOW_MS = 60_000;
const BURST_TRACK_MAX = 10_000;

/**
 * The one writer of security events: a JSON line on stdout (SECURITY_EVENT,
 * or SECURITY_ALERT for lockouts, refresh reuse and failure bursts), a row in
 * security_events, an event on the active span, and a metric. Emails are
 * masked; callers pass no secret (there is no field for one).
 */
export class SecurityEvents {
  // Failure timestamps per IP for burst alerts. Bounded: the oldest IPs are
  // dropped past BURST_TRACK_MAX (no unbounded memory under a spray attack).
  private readonly failuresByIp = new Map<string, number[]>();

  // docs/security-events.md promises one line per event: the audit trail is written at info
  // even when LOG_LEVEL=warn quietens request logs (only 'silent' mutes it).
  private readonly out: Logger;

  constructor(
    private readonly deps: { logger: Logger; repo: SecurityEventRepository; metrics: Metrics; clock: Clock },
  ) {
    this.out = deps.logger.level === 'silent' ? deps.logger : deps.logger.child({}, { level: 'info' });
  }

  async emit(sql: Sql, req: RequestInfo, input: SecurityEventInput): Promise<void> {
    await this.write(sql, req, input);
    if (input.type === 'auth_failure' && req.ip) {
      // Counted like the IP rate limits: IPv6 per /64, so rotating through
      // the addresses of one subscriber's network is still one burst.
      if (this.noteFailure(ipKey(req.ip))) {
        await this.write(sql, req, {
          type: 'auth_failure_burst',
          outcome: 'failure',
          details: { failures: BURST_THRESHOLD, window_seconds: BURST_WINDOW_MS / 1000 },
        });
      }
    }
  }

  private async write(sql: Sql, req: RequestInfo, input: SecurityEventInput): Promise<void> {
    const now = this.deps.clock.now();
    const alert = ALERTS.has(input.type);
    const severity = alert ? 'critical' : WARNINGS.has(input.type) ? 'warning' : 'info';
    const span = trace.getActiveSpan();
    const traceId = span?.spanContext().traceId;
    const id = randomUUID();
    const email = maskEmail(input.email);
    const details = { ...(input.details ?? {}), ...(email ? { email } : {}) };
    // Bounded like the column: a forged header cannot fail the row.
    const userAgent = req.userAgent ? req.userAgent.slice(0, USER_AGENT_MAX) : null;
    this.out.info({
      // Details first: the standard fields below can never be overwritten by them.
      ...input.details,
      msg: alert ? 'SECURITY_ALERT' : 'SECURITY_EVENT',
      event_id: id,
      event_type: input.type,
      severity,
      outcome: input.outcome,
      ts: now.toISOString(),
      request_id: req.requestId,
      trace_id: traceId ?? null,
      user_id: input.userId ?? null,
      ip: req.ip,
      email: email ?? null,
      ...(userAgent ? { user_agent: userAgent } : {}),
    });
    span?.addEvent(`security.${input.type}`, {
      'security.outcome': input.outcome,
      'security.severity': severity,
      ...(input.userId ? { 'enduser.id': input.userId } : {}),
    });
    this.deps.metrics.securityEvents.inc({ event_type: input.type });
    try {
      await this.deps.repo.insert(sql, {
        id,
        event_type: input.type,
        severity,
        outcome: input.outcome,
        user_id: input.userId ?? null,
        ip: req.ip,
        request_id: req.requestId,
        trace_id: traceId ?? null,
        user_agent: userAgent,
        details,
        created_at: now,
      });
    } catch (err) {
      this.deps.logger.error({ msg: 'security event not stored', event_type: input.type, err: (err as Error).message });
      // Inside the action's transaction the failed insert has aborted it: the
      // action must fail with its audit row rather than commit without it
      // (PostgreSQL would turn the COMMIT into a silent rollback).
      if (sql.bound) throw err;
      // Outside one, the log line above already carries the event; losing the
      // row must not fail the request that caused it.
    }
  }

  /** Returns true exactly when this failure makes the IP's burst reach the threshold. */
  private noteFailure(ip: string): boolean {
    const now = this.deps.clock.now().getTime();
    const list = (this.failuresByIp.get(ip) ?? []).filter((t) => now - t < BURST_WINDOW_MS);
    list.push(now);
    this.failuresByIp.delete(ip);
    this.failuresByIp.set(ip, list);
    if (this.failuresByIp.size > BURST_TRACK_MAX) {
      const oldest = this.failuresByIp.keys().next().value;
      if (oldest !== undefined) this.failuresByIp.delete(oldest);
    }
    return list.length === BURST_THRESHOLD;
  }
}
