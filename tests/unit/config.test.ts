import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, DEFAULT_RATE_LIMITS, loadConfig } from '../../server/config/config.js';

const s = suite('unit: config');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SECRET = 'config-test-secret-0123456789abcdefghijklmn';
const SMTP_PASSWORD_MARKER = 'smtp-pass-MARKER-7d1f3e';
const SHORT_SECRET_MARKER = 'short-MARKER-9c2b';

/** A loadConfig that must fail; returns the ConfigError. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, { cwd: tmpDir() });
  } catch (err) {
    assert.instance(err, ConfigError);
    return err as ConfigError;
  }
  assert.unreachable(`config ${JSON.stringify(Object.keys(env))} was accepted`);
  throw new Error('unreachable');
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-config-'));
  tmpDirs.push(d);
  return d;
}
s.after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const PRODUCTION_OK = {
  APP_ENV: 'production',
  SECRET_KEY: SECRET,
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/auth',
  SMTP_HOST: 'smtp.internal',
  SMTP_PORT: '587',
  SMTP_USER: 'mailer',
  SMTP_PASSWORD: SMTP_PASSWORD_MARKER,
  EMAIL_FROM: 'auth <no-reply@example.com>',
};

s('defaults follow the documented table', () => {
  const c = loadConfig({ APP_ENV: 'staging', SECRET_KEY: SECRET }, { cwd: tmpDir() });
  assert.is(c.appEnv, 'staging');
  assert.is(c.isProduction, false);
  assert.is(c.host, '127.0.0.1');
  assert.is(c.port, 3000);
  assert.is(c.accessTokenTtlSeconds, 15 * 60);
  assert.is(c.refreshTokenTtlSeconds, 43200 * 60);
  assert.is(c.sessionMaxSeconds, 129600 * 60);
  assert.is(c.refreshReuseGraceSeconds, 10);
  assert.is(c.emailVerificationRequired, true);
  assert.is(c.emailFrom, 'secure-auth <no-reply@localhost>');
  assert.is(c.publicUrl, 'http://127.0.0.1:3000');
  assert.is(c.tokenAudience, 'secure-auth');
  assert.is(c.lockoutThreshold, 5);
  assert.is(c.lockoutMinutes, 15);
  assert.is(c.lockoutMaxMinutes, 60);
  assert.is(c.passwordMinLength, 15);
  assert.is(c.rateLimitEnabled, true);
  assert.is(c.rateLimitStore, 'memory');
  assert.equal(c.rateLimits, {
    'login.ip': [30, 60],
    'login.email': [10, 60],
    'register.ip': [10, 3600],
    'reset.ip': [20, 3600],
    'reset.email': [5, 3600],
    'refresh.ip': [120, 60],
    'token.ip': [60, 3600],
    'password.user': [10, 3600],
    'mfa.user': [10, 900],
    'mfa.ip': [30, 60],
    'default.ip': [600, 60],
  });
  assert.is(c.hashQueueMax, 64);
  assert.is(c.retentionDays, 30);
  assert.is(c.auditRetentionDays, 365);
  assert.is(c.mfaIssuer, 'secure-auth');
  assert.equal(c.webauthn, { rpId: '127.0.0.1', rpName: 'secure-auth', origins: ['http://127.0.0.1:3000'] });
  assert.is(c.pagesEnabled, true);
  assert.is(c.sessionCookie, true);
  assert.is(c.trustProxy, false);
  assert.equal(c.scrypt, { logN: 17, r: 8, p: 1 });
  assert.equal(c.corsOrigins, []);
  assert.is(c.metricsToken, undefined);
  assert.is(c.logLevel, 'info');
  assert.is(c.smtp, undefined);
  assert.ok(Object.isFrozen(c));
});

s('APP_ENV-dependent defaults: debug logs locally, no rate limit in tests', () => {
  const local = loadConfig({ SECRET_KEY: SECRET }, { cwd: tmpDir() });
  assert.is(local.appEnv, 'local');
  assert.is(local.logLevel, 'debug');
  assert.is(local.rateLimitEnabled, true);
  const test = loadConfig({ APP_ENV: 'test', SECRET_KEY: SECRET }, { cwd: tmpDir() });
  assert.is(test.rateLimitEnabled, false);
  assert.is(test.logLevel, 'info');
});

s('outside production a missing SECRET_KEY is generated once into .data/secret-key and reused', () => {
  const cwd = tmpDir();
  const first = loadConfig({ APP_ENV: 'local' }, { cwd });
  assert.is(first.secretKeySource, 'generated');
  assert.ok(first.secretKey.length >= 32);
  const file = path.join(cwd, '.data', 'secret-key');
  assert.is(readFileSync(file, 'utf8').trim(), first.secretKey);
  assert.is(statSync(file).mode & 0o777, 0o600);
  const second = loadConfig({ APP_ENV: 'local' }, { cwd });
  assert.is(second.secretKeySource, 'file');
  assert.is(second.secretKey, first.secretKey);
});

s('APP_ENV=test without SECRET_KEY uses a random key per process, written nowhere', () => {
  const cwd = tmpDir();
  const a = loadConfig({ APP_ENV: 'test' }, { cwd });
  const b = loadConfig({ APP_ENV: 'test' }, { cwd });
  assert.is(a.secretKeySource, 'ephemeral');
  assert.ok(a.secretKey.length >= 32);
  assert.is.not(a.secretKey, b.secretKey);
  assert.throws(() => statSync(path.join(cwd, '.data', 'secret-key')));
});

s('a complete production configuration loads', () => {
  const c = loadConfig(PRODUCTION_OK, { cwd: tmpDir() });
  assert.is(c.isProduction, true);
  assert.equal(c.smtp, {
    host: 'smtp.internal',
    port: 587,
    user: 'mailer',
    password: SMTP_PASSWORD_MARKER,
    secure: false,
  });
  assert.is(c.emailFrom, 'auth <no-reply@example.com>');
});

s('production with nothing set names every required variable in one message', () => {
  const err = configError({ APP_ENV: 'production' });
  const required = ['SECRET_KEY', 'DATABASE_URL', 'SMTP_HOST', 'SMTP_PORT', 'SMTP_USER', 'SMTP_PASSWORD', 'EMAIL_FROM'];
  for (const name of required) {
    assert.ok(err.message.includes(name), `message names ${name}: ${err.message}`);
    assert.ok(err.variables.includes(name), `variables include ${name}`);
  }
});

s('production without SECRET_KEY alone names only SECRET_KEY', () => {
  const { SECRET_KEY: _omit, ...env } = PRODUCTION_OK;
  const err = configError(env);
  assert.equal(err.variables, ['SECRET_KEY']);
  assert.match(err.message, /SECRET_KEY/);
});

s('with email verification off, production does not ask for SMTP credentials or EMAIL_FROM', () => {
  const err = configError({ APP_ENV: 'production', EMAIL_VERIFICATION_REQUIRED: 'false', SMTP_HOST: 'smtp.internal' });
  assert.equal(err.variables.sort(), ['DATABASE_URL', 'SECRET_KEY']);
});

s('error messages never contain the values given, only names', () => {
  const dbSecret = 'db-pass-MARKER-51aa';
  const err = configError({
    APP_ENV: 'production',
    SECRET_KEY: SHORT_SECRET_MARKER,
    SECRET_KEY_PREVIOUS: `${SECRET},prev-MARKER`,
    DATABASE_URL: `mysql://root:${dbSecret}@db/auth`,
    SMTP_HOST: 'smtp.internal',
    SMTP_PASSWORD: SMTP_PASSWORD_MARKER,
    METRICS_TOKEN: 'metrics-MARKER',
  });
  for (const name of ['SECRET_KEY', 'SECRET_KEY_PREVIOUS', 'DATABASE_URL', 'SMTP_USER', 'EMAIL_FROM']) {
    assert.ok(err.variables.includes(name), `names ${name}`);
  }
  const text = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}`;
  for (const marker of [SHORT_SECRET_MARKER, SMTP_PASSWORD_MARKER, dbSecret, 'prev-MARKER', 'metrics-MARKER', SECRET]) {
    assert.not.ok(text.includes(marker), `leaked ${marker}`);
  }
});

s('invalid values are all reported together, by name', () => {
  const err = configError({
    APP_ENV: 'prod',
    SECRET_KEY: SECRET,
    ACCESS_TOKEN_EXPIRE_MINUTES: 'fifteen',
    REFRESH_REUSE_GRACE_SECONDS: '61',
    PASSWORD_MIN_LENGTH: '7',
    SMTP_HOST: 'smtp.internal',
    SMTP_PORT: '70000',
    RATE_LIMIT_STORE: 'redis',
    LOG_LEVEL: 'loud',
    EMAIL_VERIFICATION_REQUIRED: 'maybe',
  });
  assert.equal(err.variables.sort(), [
    'ACCESS_TOKEN_EXPIRE_MINUTES',
    'APP_ENV',
    'EMAIL_VERIFICATION_REQUIRED',
    'LOG_LEVEL',
    'PASSWORD_MIN_LENGTH',
    'RATE_LIMIT_STORE',
    'REFRESH_REUSE_GRACE_SECONDS',
    'SMTP_PORT',
  ]);
  for (const name of err.variables) assert.ok(err.message.includes(name));
});

s('fractional minutes are allowed and PUBLIC_URL loses its trailing slash', () => {
  const c = loadConfig(
    {
      APP_ENV: 'test',
      SECRET_KEY: SECRET,
      ACCESS_TOKEN_EXPIRE_MINUTES: '0.1',
      REFRESH_REUSE_GRACE_SECONDS: '0',
      PUBLIC_URL: 'https://auth.example.com/',
    },
    { cwd: tmpDir() },
  );
  assert.is(c.accessTokenTtlSeconds, 6);
  assert.is(c.refreshReuseGraceSeconds, 0);
  assert.is(c.publicUrl, 'https://auth.example.com');
});

s('RATE_LIMITS JSON overrides single defaults and keeps the others', () => {
  const c = loadConfig(
    { APP_ENV: 'test', SECRET_KEY: SECRET, RATE_LIMITS: '{"login.ip":[3,60],"refresh.ip":[5,10]}' },
    { cwd: tmpDir() },
  );
  assert.equal(c.rateLimits['login.ip'], [3, 60]);
  assert.equal(c.rateLimits['refresh.ip'], [5, 10]);
  assert.equal(c.rateLimits['login.email'], DEFAULT_RATE_LIMITS['login.email']);
  assert.equal(c.rateLimits['default.ip'], [600, 60]);
  // The shared defaults are not modified by an override.
  assert.equal(DEFAULT_RATE_LIMITS['login.ip'], [30, 60]);
});

s('invalid RATE_LIMITS is reported by name', () => {
  for (const bad of ['{"login.ip":[30]}', '{"login.ip":[0,60]}', '{"login.ip":"30/60"}', 'login.ip=30', '[1,2]']) {
    const err = configError({ APP_ENV: 'test', SECRET_KEY: SECRET, RATE_LIMITS: bad });
    assert.equal(err.variables, ['RATE_LIMITS'], bad);
  }
});

s('lists are split on commas; TRUST_PROXY takes hop counts and CIDRs', () => {
  const c = loadConfig(
    {
      APP_ENV: 'test',
      SECRET_KEY: SECRET,
      CORS_ORIGINS: 'https://a.example, https://b.example',
      TRUST_PROXY: '2',
      SECRET_KEY_PREVIOUS: ` ${SECRET}x , ${SECRET}y `,
    },
    { cwd: tmpDir() },
  );
  assert.equal(c.corsOrigins, ['https://a.example', 'https://b.example']);
  assert.is(c.trustProxy, 2);
  assert.equal(c.secretKeyPrevious, [`${SECRET}x`, `${SECRET}y`]);
  assert.is(loadConfig({ APP_ENV: 'test', TRUST_PROXY: '10.0.0.0/8' }, { cwd: tmpDir() }).trustProxy, '10.0.0.0/8');
});

s('production refuses a scrypt cost N*r*p below 2^17*8*1; other environments may lower it', () => {
  const weakSettings: Array<Record<string, string>> = [
    { SCRYPT_LOG_N: '10' },
    { SCRYPT_LOG_N: '16' },
    { SCRYPT_R: '4' },
  ];
  for (const weak of weakSettings) {
    const err = configError({ ...PRODUCTION_OK, ...weak });
    assert.ok(
      err.variables.some((v) => v.startsWith('SCRYPT_')),
      JSON.stringify(err.variables),
    );
  }
  // The same cost spread differently is fine: 2^16 * 8 * 2.
  assert.is(loadConfig({ ...PRODUCTION_OK, SCRYPT_LOG_N: '16', SCRYPT_P: '2' }, { cwd: tmpDir() }).scrypt.p, 2);
  assert.is(loadConfig({ APP_ENV: 'test', SECRET_KEY: SECRET, SCRYPT_LOG_N: '10' }, { cwd: tmpDir() }).scrypt.logN, 10);
});

s('ACCESS_TOKEN_EXPIRE_MINUTES is capped at 60', () => {
  assert.equal(configError({ APP_ENV: 'test', ACCESS_TOKEN_EXPIRE_MINUTES: '61' }).variables, [
    'ACCESS_TOKEN_EXPIRE_MINUTES',
  ]);
  assert.equal(configError({ APP_ENV: 'test', ACCESS_TOKEN_EXPIRE_MINUTES: '1440' }).variables, [
    'ACCESS_TOKEN_EXPIRE_MINUTES',
  ]);
  assert.is(
    loadConfig({ APP_ENV: 'test', ACCESS_TOKEN_EXPIRE_MINUTES: '60' }, { cwd: tmpDir() }).accessTokenTtlSeconds,
    3600,
  );
});

s('TRUST_PROXY=true (believe every X-Forwarded-For) is refused', () => {
  for (const v of ['true', 'TRUE', ' true '])
    assert.equal(configError({ APP_ENV: 'test', TRUST_PROXY: v }).variables, ['TRUST_PROXY']);
});

s('npm start in production without SECRET_KEY exits non-zero naming SECRET_KEY, printing no secret', async () => {
  // A throw-away working directory: no .env or .data of the checkout is read.
  const cwd = tmpDir();
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(tsx, [path.join(root, 'server', 'main.ts')], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? cwd,
        APP_ENV: 'production',
        SMTP_PASSWORD: SMTP_PASSWORD_MARKER,
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.ts did not exit within 30 s: ${out}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  assert.ok(result.code !== 0 && result.code !== null, `exit code ${result.code}`);
  assert.match(result.out, /SECRET_KEY/);
  assert.match(result.out, /DATABASE_URL/);
  assert.not.ok(result.out.includes(SMTP_PASSWORD_MARKER));
  // A configuration message, not a crash with a stack trace.
  assert.not.match(result.out, /\n\s+at /);
});

s.run();
