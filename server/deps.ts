import path from 'node:path';
import type { Config } from './config/config.js';
import { createPool, type Pool } from './db/pool.js';
import { EmailTokenRepository } from './db/repositories/email-token.repository.js';
import { LockoutRepository, LoginThrottleRepository } from './db/repositories/lockout.repository.js';
import { MailOutboxRepository } from './db/repositories/mail-outbox.repository.js';
import { MaintenanceLockRepository } from './db/repositories/maintenance-lock.repository.js';
import { MfaChallengeRepository } from './db/repositories/mfa-challenge.repository.js';
import { MfaFactorRepository } from './db/repositories/mfa-factor.repository.js';
import { RecoveryCodeRepository } from './db/repositories/recovery-code.repository.js';
import { WebauthnChallengeRepository } from './db/repositories/webauthn-challenge.repository.js';
import { RefreshTokenRepository } from './db/repositories/refresh-token.repository.js';
import { SecurityEventRepository } from './db/repositories/security-event.repository.js';
import { UserRepository } from './db/repositories/user.repository.js';
import { SessionCheckBatcher } from './db/session-check-batcher.js';
import { Sql } from './db/sql.js';
import { Mailer } from './email/mailer.js';
import { OutboxWorker } from './email/outbox-worker.js';
import { fileTransport, smtpTransport, type MailTransport } from './email/transports.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { SecurityEvents } from './observability/security-events.js';
import { AccountRateLimits } from './services/account-rate-limits.js';
import { RateLimitStore } from './rate-limit/rate-limit-store.js';
import { AccessTokenService } from './security/access-token.js';
import { systemClock, type Clock } from './security/clock.js';
import { Keyring } from './security/keyring.js';
import { RefreshTokenCodec } from './security/opaque-token.js';
import { PasswordHasher } from './security/password-hasher.js';
import { AdminService } from './services/admin.service.js';
import { AuthService } from './services/auth.service.js';
import { BackgroundTasks } from './services/background-tasks.js';
import { CredentialVerifier } from './services/credential-verifier.service.js';
import { HealthService } from './services/health.service.js';
import { MaintenanceService } from './services/maintenance.service.js';
import { MfaLoginService } from './services/mfa-login.service.js';
import { MfaService } from './services/mfa.service.js';
import { PasskeyService } from './services/passkey.service.js';
import { SecondFactorCheck } from './services/second-factor-check.js';
import { Webauthn } from './security/webauthn.js';
import { PasswordPolicy } from './services/password-policy.js';
import { normaliseEmail } from './services/email-normaliser.js';
import { SessionService } from './services/session.service.js';

/**
 * Session-check statements running at once: a few of the pool's connections,
 * so concurrent calls share statements instead of queueing for connections.
 */
const SESSION_CHECKS_IN_FLIGHT = 2;

/** Everything the app needs, built once; tests build the same graph with overrides. */
export interface Deps {
  config: Readonly<Config>;
  clock: Clock;
  logger: Logger;
  /** The one connection pool, owned here; `close()` ends it. */
  pool: Pool;
  sql: () => Sql;
  keyring: Keyring;
  hasher: PasswordHasher;
  accessTokens: AccessTokenService;
  metrics: Metrics;
  events: SecurityEvents;
  sessions: SessionService;
  auth: AuthService;
  admin: AdminService;
  mfa: MfaService;
  mfaLogin: MfaLoginService;
  passkeys: PasskeyService;
  health: HealthService;
  mailer: Mailer;
  outbox: OutboxWorker;
  maintenance: MaintenanceService;
  /** Work a request starts but its answer does not wait for (drained at shutdown). */
  background: BackgroundTasks;
  /** Rate-limit counters; undefined when rate limiting is off (RATE_LIMIT_ENABLED). */
  rateLimits?: RateLimitStore;
  /** Ends what the graph owns (the hashing processes, the pool); call after the workers have stopped. */
  close(): Promise<void>;
  repos: {
    users: UserRepository;
    refreshTokens: RefreshTokenRepository;
    emailTokens: EmailTokenRepository;
    lockouts: LockoutRepository;
    throttles: LoginThrottleRepository;
    securityEvents: SecurityEventRepository;
    mailOutbox: MailOutboxRepository;
    mfaFactors: MfaFactorRepository;
    recoveryCodes: RecoveryCodeRepository;
    mfaChallenges: MfaChallengeRepository;
    webauthnChallenges: WebauthnChallengeRepository;
  };
}

export interface DepsOverrides {
  clock?: Clock;
  logger?: Logger;
  transport?: MailTransport;
  /** Outbox retry timing (tests shorten it). */
  outbox?: { pollMs?: number; firstRetrySeconds?: number; maxBackoffSeconds?: number };
  /** Where the postgres rate-limit store connects; defaults to the service's database. */
  rateLimitStoreUrl?: string;
}

/** Where the graph's pool connects: the service's database and how many connections it may hold. */
export interface DatabaseOptions {
  url: string;
  poolMax?: number;
}

export function buildDeps(config: Readonly<Config>, database: DatabaseOptions, o: DepsOverrides = {}): Deps {
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? createLogger(config.logLevel);
  const pool = createPool({
    url: database.url,
    max: database.poolMax,
    onIdleError: (err) => logger.warn({ msg: 'database connection lost', err_code: (err as { code?: string }).code }),
  });
  const sql = () => new Sql(pool);
  const repos = {
    users: new UserRepository(),
    refreshTokens: new RefreshTokenRepository(),
    emailTokens: new EmailTokenRepository(),
    lockouts: new LockoutRepository(),
    throttles: new LoginThrottleRepository(),
    securityEvents: new SecurityEventRepository(),
    mailOutbox: new MailOutboxRepository(),
    mfaFactors: new MfaFactorRepository(),
    recoveryCodes: new RecoveryCodeRepository(),
    mfaChallenges: new MfaChallengeRepository(),
    webauthnChallenges: new WebauthnChallengeRepository(),
  };
  const keyring = new Keyring(config.secretKey, config.secretKeyPrevious);
  const hasher = new PasswordHasher(config.scrypt, config.hashConcurrency, config.hashQueueMax);
  const accessTokens = new AccessTokenService({
    keyring,
    clock,
    issuer: config.publicUrl,
    audience: config.tokenAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
  });
  const metrics = new Metrics(() => repos.users.countActive(sql()));
  const events = new SecurityEvents({ logger, repo: repos.securityEvents, metrics, clock });
  const transport =
    o.transport ??
    (config.smtp ? smtpTransport(config.smtp) : fileTransport(path.join(config.dataDir, 'outbox'), logger));
  const outbox = new OutboxWorker({
    repo: repos.mailOutbox,
    sql,
    transport,
    keys: keyring.outboxKeys,
    from: config.emailFrom,
    clock,
    logger,
    metrics,
    ...o.outbox,
  });
  const mailer = new Mailer({ repo: repos.mailOutbox, key: keyring.outboxKey, clock, onEnqueued: () => outbox.kick() });
  const sessions = new SessionService({
    settings: {
      refreshTtlSeconds: config.refreshTokenTtlSeconds,
      sessionMaxSeconds: config.sessionMaxSeconds,
      reuseGraceSeconds: config.refreshReuseGraceSeconds,
    },
    clock,
    users: repos.users,
    refreshTokens: repos.refreshTokens,
    codec: new RefreshTokenCodec(keyring),
    accessTokens,
    events,
    metrics,
    sessionChecks: new SessionCheckBatcher({
      sql,
      users: repos.users,
      clock,
      maxInFlight: SESSION_CHECKS_IN_FLIGHT,
      maxBatch: 64,
    }),
  });
  const credentials = new CredentialVerifier({
    settings: {
      threshold: config.lockoutThreshold,
      baseMinutes: config.lockoutMinutes,
      maxMinutes: config.lockoutMaxMinutes,
    },
    clock,
    hasher,
    keyring,
    users: repos.users,
    lockouts: repos.lockouts,
    throttles: repos.throttles,
    events,
    metrics,
    mailer,
  });
  const rateLimits = config.rateLimitEnabled
    ? new RateLimitStore({
        rules: config.rateLimits,
        kind: config.rateLimitStore,
        emailKey: (email) => keyring.lookupDigest('rate-limit-email', normaliseEmail(email)),
        databaseUrl: o.rateLimitStoreUrl ?? database.url,
      })
    : undefined;
  const accountLimits = new AccountRateLimits({ store: rateLimits, metrics, events });
  const check = new SecondFactorCheck({
    clock,
    keyring,
    factors: repos.mfaFactors,
    recoveryCodes: repos.recoveryCodes,
  });
  const mfaLogin = new MfaLoginService({
    clock,
    keyring,
    users: repos.users,
    factors: repos.mfaFactors,
    recoveryCodes: repos.recoveryCodes,
    challenges: repos.mfaChallenges,
    check,
    credentials,
    sessions,
    limits: accountLimits,
    mailer,
    events,
    metrics,
  });
  const mfa = new MfaService({
    clock,
    issuer: config.mfaIssuer,
    users: repos.users,
    factors: repos.mfaFactors,
    recoveryCodes: repos.recoveryCodes,
    challenges: repos.mfaChallenges,
    check,
    credentials,
    login: mfaLogin,
    sessions,
    limits: accountLimits,
    mailer,
    events,
  });
  const passkeys = new PasskeyService({
    clock,
    keyring,
    webauthn: new Webauthn(config.webauthn),
    users: repos.users,
    factors: repos.mfaFactors,
    challenges: repos.webauthnChallenges,
    mfa,
    mfaLogin,
    credentials,
    sessions,
    limits: accountLimits,
    events,
    metrics,
  });
  const policy = new PasswordPolicy(config.passwordMinLength);
  const background = new BackgroundTasks(logger);
  const auth = new AuthService({
    clock,
    publicUrl: config.publicUrl,
    emailVerificationRequired: config.emailVerificationRequired,
    hasher,
    scrypt: config.scrypt,
    policy,
    keyring,
    users: repos.users,
    emailTokens: repos.emailTokens,
    lockouts: repos.lockouts,
    throttles: repos.throttles,
    credentials,
    sessions,
    mfaLogin,
    mailer,
    events,
    metrics,
    background,
  });
  const admin = new AdminService({
    clock,
    hasher,
    policy,
    keyring,
    users: repos.users,
    lockouts: repos.lockouts,
    throttles: repos.throttles,
    securityEvents: repos.securityEvents,
    sessions,
    auth,
    events,
    factors: repos.mfaFactors,
    mfa,
  });
  return {
    config,
    clock,
    logger,
    pool,
    sql,
    close: async () => {
      // Hashing processes first: nothing needs them once requests have drained.
      await hasher.close();
      await pool.end();
    },
    keyring,
    hasher,
    accessTokens,
    metrics,
    events,
    sessions,
    auth,
    admin,
    mfa,
    mfaLogin,
    passkeys,
    health: new HealthService(),
    mailer,
    outbox,
    maintenance: new MaintenanceService({
      sql,
      clock,
      logger,
      retentionDays: config.retentionDays,
      auditRetentionDays: config.auditRetentionDays,
      lock: new MaintenanceLockRepository(),
      throttles: repos.throttles,
      mailOutbox: repos.mailOutbox,
      mfaChallenges: repos.mfaChallenges,
      webauthnChallenges: repos.webauthnChallenges,
      refreshTokens: repos.refreshTokens,
      emailTokens: repos.emailTokens,
      securityEvents: repos.securityEvents,
    }),
    background,
    rateLimits,
    repos,
  };
}
