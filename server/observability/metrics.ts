import client from 'prom-client';

/**
 * Prometheus metrics (prom-client), one registry per app instance so tests
 * can build several apps in one process.
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly loginSuccess = new client.Counter({
    name: 'login_success_total',
    help: 'Successful logins',
    registers: [this.registry],
  });
  readonly loginFailure = new client.Counter({
    name: 'login_failure_total',
    help: 'Failed logins by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly rateLimitExceeded = new client.Counter({
    name: 'rate_limit_exceeded_total',
    help: 'Calls refused by a rate limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly accountLockouts = new client.Counter({
    name: 'account_lockouts_total',
    help: 'Accounts locked',
    registers: [this.registry],
  });
  readonly refreshTokenReuse = new client.Counter({
    name: 'refresh_token_reuse_total',
    help: 'Refresh token reuse detections (family revoked)',
    registers: [this.registry],
  });
  readonly securityEvents = new client.Counter({
    name: 'security_events_total',
    help: 'Security events by type',
    labelNames: ['event_type'],
    registers: [this.registry],
  });
  readonly requestLatency = new client.Histogram({
    name: 'request_latency_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly mfaChallenges = new client.Counter({
    name: 'mfa_challenges_total',
    help: 'Second-factor challenges by outcome (issued, success, failure, expired)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly mailDeliveryFailures = new client.Counter({
    name: 'mail_delivery_failures_total',
    help: 'Failed mail delivery attempts (retried)',
    registers: [this.registry],
  });
  readonly activeUsers: client.Gauge;

  constructor(countActiveUsers: () => Promise<number>, now: () => number = Date.now) {
    // One count(*) per ACTIVE_USERS_TTL_MS at most, whatever the scrape rate
    // (concurrent scrapes share the read): a scraper, or anyone who can reach
    // /metrics, must not turn scrapes into database load.
    let read: { at: number; count: Promise<number> } | undefined;
    this.activeUsers = new client.Gauge({
      name: 'active_users_total',
      help: 'Users with is_active = true (read at most every 30 s)',
      registers: [this.registry],
      async collect() {
        if (!read || now() - read.at >= ACTIVE_USERS_TTL_MS) read = { at: now(), count: countActiveUsers() };
        try {
          this.set(await read.count);
        } catch {
          /* database down: keep the last value; /health reports the outage */
        }
      },
    });
  }
}

const ACTIVE_USERS_TTL_MS = 30_000;
