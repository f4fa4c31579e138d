import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The only reader of process.env. Produces one frozen, validated Config; in
 * production every missing or invalid variable is reported in one message,
 * by name only (values may be secrets and are never echoed).
 */

export type AppEnv = 'local' | 'staging' | 'production' | 'test';
export type RateLimitRule = readonly [points: number, seconds: number];

export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateLimitRule>> = Object.freeze({
  'login.ip': [30, 60],
  'login.email': [10, 60],
  'register.ip': [10, 3600],
  'reset.ip': [20, 3600],
  'reset.email': [5, 3600],
  'refresh.ip': [120, 60],
  // verifyEmail and resetPassword: a guesser of one-time tokens.
  'token.ip': [60, 3600],
  // changePassword and every other call that checks the current password.
  'password.user': [10, 3600],
  // Second-factor answers (TOTP, recovery codes, passkeys).
  'mfa.user': [10, 900],
  'mfa.ip': [30, 60],
  'default.ip': [600, 60],
});

/** OWASP's minimum scrypt cost for password storage: N=2^17, r=8, p=1. */
export const OWASP_SCRYPT_MINIMUM = Object.freeze({ logN: 17, r: 8, p: 1 });

/** The work factor N*r*p of scrypt parameters. */
export function scryptCost(p: { logN: number; r: number; p: number }): number {
  return 2 ** p.logN * p.r * p.p;
}

export interface SmtpConfig {
  host: string;
  port: number;
  user?: string;
  password?: string;
  secure: boolean;
}

export interface Config {
  appEnv: AppEnv;
  isProduction: boolean;
  host: string;
  port: number;
  dataDir: string;
  secretKey: string;
  secretKeyPrevious: string[];
  /** Set when SECRET_KEY was generated or read from .data/secret-key. */
  secretKeySource: 'env' | 'file' | 'generated' | 'ephemeral';
  databaseUrl?: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  sessionMaxSeconds: number;
  refreshReuseGraceSeconds: number;
  emailVerificationRequired: boolean;
  smtp?: SmtpConfig;
  emailFrom: string;
  publicUrl: string;
  tokenAudience: string;
  lockoutThreshold: number;
  lockoutMinutes: number;
  lockoutMaxMinutes: number;
  passwordMinLength: number;
  rateLimitEnabled: boolean;
  rateLimitStore: 'memory' | 'postgres';
  rateLimits: Readonly<Record<string, RateLimitRule>>;
  trustProxy: boolean | number | string;
  scrypt: { logN: number; r: number; p: number };
  /** Hashing processes, one scrypt each at a time (see scrypt-pool); one per core by default. */
  hashConcurrency: number;
  /** Hashes allowed to wait at once; beyond it calls that need one answer UNAVAILABLE (load shedding). */
  hashQueueMax: number;
  /** Days after which ended sessions and used one-time tokens are deleted. */
  retentionDays: number;
  /** Days after which security_events rows are deleted; 0 keeps them forever. */
  auditRetentionDays: number;
  /** Issuer shown in authenticator apps. */
  mfaIssuer: string;
  /** Passkey relying party: id (a host), display name, accepted origins. */
  webauthn: { rpId: string; rpName: string; origins: string[] };
  /** The service's own pages (verify-email, reset-password, account). */
  pagesEnabled: boolean;
  /** Browser sessions with the refresh token in an httpOnly cookie. */
  sessionCookie: boolean;
  corsOrigins: string[];
  metricsToken?: string;
  logLevel: string;
  workers: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variables: string[],
    detail: string,
  ) {
    super(`Invalid configuration: ${detail}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

function parseTrustProxy(raw: string): boolean | number | string | undefined {
  const v = raw.trim();
  if (v === '' || v.toLowerCase() === 'false') return false;
  // "Believe every X-Forwarded-For" lets any client pick its own address and
  // walk past every IP limit: refused (undefined reports it).
  if (v.toLowerCase() === 'true') return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  return v; // CIDRs / names, as Express accepts them
}

export interface LoadOptions {
  /** Where `.data/` lives; defaults to the working directory. */
  cwd?: string;
}

/** Reads and validates configuration from an environment map. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: LoadOptions = {}): Readonly<Config> {
  const problems = new Map<string, string>();
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  function read<T>(name: string, schema: z.ZodType<T>, fallback: T): T {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      problems.set(name, parsed.error.issues[0]?.message ?? 'invalid');
      return fallback;
    }
    return parsed.data;
  }

  const appEnvRaw = get('APP_ENV') ?? 'local';
  let appEnv: AppEnv = 'local';
  if (['local', 'staging', 'production', 'test'].includes(appEnvRaw)) appEnv = appEnvRaw as AppEnv;
  else problems.set('APP_ENV', 'must be local, staging, production or test');
  const isProduction = appEnv === 'production';
  const cwd = opts.cwd ?? process.cwd();
  const dataDir = path.resolve(cwd, get('DATA_DIR') ?? '.data');

  // Secret key: required in production; generated and persisted locally so
  // restarts keep sessions; random per process in tests.
  let secretKey = get('SECRET_KEY');
  let secretKeySource: Config['secretKeySource'] = 'env';
  if (secretKey !== undefined && secretKey.length < 32) {
    problems.set('SECRET_KEY', 'must be at least 32 characters');
  }
  if (secretKey === undefined) {
    if (isProduction) problems.set('SECRET_KEY', 'is required in production');
    else if (appEnv === 'test') {
      secretKey = randomBytes(32).toString('base64url');
      secretKeySource = 'ephemeral';
    } else {
      const file = path.join(dataDir, 'secret-key');
      if (existsSync(file)) {
        secretKey = readFileSync(file, 'utf8').trim();
        secretKeySource = 'file';
      } else {
        mkdirSync(dataDir, { recursive: true });
        secretKey = randomBytes(32).toString('base64url');
        writeFileSync(file, secretKey + '\n', { mode: 0o600 });
        secretKeySource = 'generated';
      }
    }
  }
  const secretKeyPrevious = (get('SECRET_KEY_PREVIOUS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (secretKeyPrevious.some((k) => k.length < 32)) {
    problems.set('SECRET_KEY_PREVIOUS', 'each key must be at least 32 characters');
  }

  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.set('DATABASE_URL', 'must be a postgres:// URL');
  }
  if (isProduction && databaseUrl === undefined) problems.set('DATABASE_URL', 'is required in production');

  const emailVerificationRequired = read('EMAIL_VERIFICATION_REQUIRED', bool, true);
  let smtp: SmtpConfig | undefined;
  const smtpHost = get('SMTP_HOST');
  if (smtpHost !== undefined) {
    smtp = {
      host: smtpHost,
      port: read('SMTP_PORT', int(1, 65535), 587),
      user: get('SMTP_USER'),
      password: get('SMTP_PASSWORD'),
      secure: read('SMTP_SECURE', bool, false),
    };
  }
  if (isProduction && emailVerificationRequired) {
    for (const name of ['SMTP_HOST', 'SMTP_PORT', 'SMTP_USER', 'SMTP_PASSWORD', 'EMAIL_FROM']) {
      if (get(name) === undefined) problems.set(name, 'is required in production when email verification is on');
    }
  }

  const rateLimitsRaw = get('RATE_LIMITS');
  const rateLimits: Record<string, RateLimitRule> = { ...DEFAULT_RATE_LIMITS };
  if (rateLimitsRaw !== undefined) {
    try {
      const parsed = z
        .record(z.string(), z.tuple([z.number().int().positive(), z.number().int().positive()]))
        .parse(JSON.parse(rateLimitsRaw));
      Object.assign(rateLimits, parsed);
    } catch {
      problems.set('RATE_LIMITS', 'must be JSON like {"login.ip":[30,60]}');
    }
  }

  const lockoutMinutes = read('LOCKOUT_MINUTES', num(0.01, 10080), 15);
  const publicUrl = (get('PUBLIC_URL') ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  let publicOrigin = 'http://127.0.0.1:3000';
  let publicHost = '127.0.0.1';
  try {
    const url = new URL(publicUrl);
    publicOrigin = url.origin;
    publicHost = url.hostname;
  } catch {
    problems.set('PUBLIC_URL', 'must be an absolute http(s) URL');
  }
  const list = (name: string) =>
    (get(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const trustProxy = parseTrustProxy(get('TRUST_PROXY') ?? 'false');
  if (trustProxy === undefined) {
    problems.set('TRUST_PROXY', 'must be a hop count or a list of CIDRs/names; true (believe every client) is refused');
  }
  const config: Config = {
    appEnv,
    isProduction,
    host: get('HOST') ?? '127.0.0.1',
    port: read('PORT', int(0, 65535), 3000),
    dataDir,
    secretKey: secretKey ?? '',
    secretKeyPrevious,
    secretKeySource,
    databaseUrl,
    // Capped at an hour: an access token cannot be revoked offline (verifiers do not see logout).
    accessTokenTtlSeconds: read('ACCESS_TOKEN_EXPIRE_MINUTES', num(0.01, 60), 15) * 60,
    refreshTokenTtlSeconds: read('REFRESH_TOKEN_EXPIRE_MINUTES', num(0.01, 525600), 43200) * 60,
    sessionMaxSeconds: read('SESSION_MAX_MINUTES', num(0.01, 1051200), 129600) * 60,
    refreshReuseGraceSeconds: read('REFRESH_REUSE_GRACE_SECONDS', num(0, 60), 10),
    emailVerificationRequired,
    smtp,
    emailFrom: get('EMAIL_FROM') ?? 'secure-auth <no-reply@localhost>',
    publicUrl,
    tokenAudience: get('TOKEN_AUDIENCE') ?? 'secure-auth',
    lockoutThreshold: read('LOCKOUT_THRESHOLD', int(1, 100), 5),
    lockoutMinutes,
    lockoutMaxMinutes: read('LOCKOUT_MAX_MINUTES', num(0.01, 10080), 60),
    passwordMinLength: read('PASSWORD_MIN_LENGTH', int(8, 64), 15),
    rateLimitEnabled: read('RATE_LIMIT_ENABLED', bool, appEnv !== 'test'),
    rateLimitStore: read('RATE_LIMIT_STORE', z.enum(['memory', 'postgres']), 'memory'),
    rateLimits: Object.freeze(rateLimits),
    trustProxy: trustProxy ?? false,
    scrypt: {
      logN: read('SCRYPT_LOG_N', int(10, 22), 17),
      r: read('SCRYPT_R', int(1, 32), 8),
      p: read('SCRYPT_P', int(1, 16), 1),
    },
    hashConcurrency: read('HASH_CONCURRENCY', int(1, 64), 0),
    hashQueueMax: read('HASH_QUEUE_MAX', int(1, 100000), 64),
    retentionDays: read('RETENTION_DAYS', int(1, 3650), 30),
    auditRetentionDays: read('AUDIT_RETENTION_DAYS', int(0, 36500), 365),
    mfaIssuer: get('MFA_ISSUER') ?? 'secure-auth',
    webauthn: {
      rpId: get('WEBAUTHN_RP_ID') ?? publicHost,
      rpName: get('WEBAUTHN_RP_NAME') ?? 'secure-auth',
      origins: list('WEBAUTHN_ORIGINS').length > 0 ? list('WEBAUTHN_ORIGINS') : [publicOrigin],
    },
    pagesEnabled: read('PAGES_ENABLED', bool, true),
    sessionCookie: read('SESSION_COOKIE', bool, true),
    corsOrigins: list('CORS_ORIGINS'),
    metricsToken: get('METRICS_TOKEN'),
    logLevel: read(
      'LOG_LEVEL',
      z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
      appEnv === 'local' ? 'debug' : 'info',
    ),
    workers: read('WORKERS', int(1, 64), 1),
  };
  if (config.hashConcurrency === 0) config.hashConcurrency = defaultHashConcurrency();
  if (isProduction && scryptCost(config.scrypt) < scryptCost(OWASP_SCRYPT_MINIMUM)) {
    // Tests and development may hash cheaply; production never below OWASP's minimum.
    problems.set('SCRYPT_LOG_N', 'with SCRYPT_R and SCRYPT_P must give N*r*p of at least 2^17*8*1 in production');
  }
  if (config.lockoutMaxMinutes < config.lockoutMinutes) {
    problems.set('LOCKOUT_MAX_MINUTES', 'must be at least LOCKOUT_MINUTES');
  }
  if (isProduction && !emailVerificationRequired && !smtp) {
    // Without SMTP in production password-reset mail could not be sent; the
    // file outbox is a development tool only.
    problems.set('SMTP_HOST', 'is required in production (no file outbox in production)');
  }

  if (problems.size > 0) {
    const names = [...problems.keys()];
    throw new ConfigError(names, [...problems].map(([name, why]) => `${name} ${why}`).join('; '));
  }
  return Object.freeze(config);
}

/**
 * Hashes run in processes at the lowest CPU priority (server/security/scrypt-pool.ts),
 * so the kernel always serves the event loop first and a hash only gets the
 * cycles nothing else wants: one process per core lets a login storm use the
 * whole machine without slowing token checks. Lower HASH_CONCURRENCY to bound
 * memory (each running hash holds 128 x r x 2^logN bytes).
 */
function defaultHashConcurrency(): number {
  return availableParallelism();
}
