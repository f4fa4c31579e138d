import { parse } from 'dotenv';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../server/config/config.js';
import { ROOT } from './cli-support.js';

/**
 * .env.example and the runbook list every variable the service reads, and
 * the defaults .env.example shows are the ones the service really uses.
 */

const DOCUMENTED_VARIABLES = [
  'APP_ENV',
  'SECRET_KEY',
  'SECRET_KEY_PREVIOUS',
  'DATABASE_URL',
  'ACCESS_TOKEN_EXPIRE_MINUTES',
  'REFRESH_TOKEN_EXPIRE_MINUTES',
  'SESSION_MAX_MINUTES',
  'REFRESH_REUSE_GRACE_SECONDS',
  'EMAIL_VERIFICATION_REQUIRED',
  'SMTP_HOST',
  'SMTP_PORT',
  'SMTP_USER',
  'SMTP_PASSWORD',
  'SMTP_SECURE',
  'EMAIL_FROM',
  'PUBLIC_URL',
  'TOKEN_AUDIENCE',
  'LOCKOUT_THRESHOLD',
  'LOCKOUT_MINUTES',
  'LOCKOUT_MAX_MINUTES',
  'PASSWORD_MIN_LENGTH',
  'RATE_LIMIT_ENABLED',
  'RATE_LIMIT_STORE',
  'RATE_LIMITS',
  'TRUST_PROXY',
  'SCRYPT_LOG_N',
  'SCRYPT_R',
  'SCRYPT_P',
  'CORS_ORIGINS',
  'METRICS_TOKEN',
  'LOG_LEVEL',
  'OTEL_SERVICE_NAME',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'HOST',
  'PORT',
  'WORKERS',
  'HASH_CONCURRENCY',
  'DATA_DIR',
];

/** Every variable server/config/config.ts reads (the only reader of process.env). */
function configVariables(): string[] {
  const src = readFileSync(path.join(ROOT, 'server/config/config.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of src.matchAll(/\b(?:get|read)\(\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]!);
  for (const m of src.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
  for (const m of src.matchAll(/\[((?:\s*'[A-Z][A-Z0-9_]+',?)+)\s*\]/g)) {
    for (const n of m[1]!.matchAll(/'([A-Z][A-Z0-9_]+)'/g)) names.add(n[1]!);
  }
  return [...names];
}

const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
const runbook = readFileSync(path.join(ROOT, 'docs/runbook.md'), 'utf8');
const mentioned = (text: string, name: string) => new RegExp(`(^|[^A-Z0-9_])${name}([^A-Z0-9_]|$)`, 'm').test(text);

const s = suite('configuration docs');

s('.env.example and the runbook name every documented variable and every one config reads', () => {
  const all = new Set([...DOCUMENTED_VARIABLES, ...configVariables()]);
  assert.ok(configVariables().length >= 30, 'the scan of config.ts found its variables');
  const missingExample = [...all].filter((n) => !mentioned(example, n));
  assert.equal(missingExample, [], `.env.example lacks ${missingExample.join(', ')}`);
  const missingRunbook = [...all].filter((n) => !mentioned(runbook, n));
  assert.equal(missingRunbook, [], `docs/runbook.md lacks ${missingRunbook.join(', ')}`);
});

s('.env.example, copied as is to .env, gives exactly the default configuration', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-env-'));
  try {
    const key = { SECRET_KEY: 'env-example-key-0123456789abcdefghijklmnop' };
    const fromExample = loadConfig({ ...parse(example), ...key }, { cwd: dir });
    const defaults = loadConfig({ ...key }, { cwd: dir });
    assert.equal(fromExample, defaults);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s('.env.example holds no secret value', () => {
  const values = parse(example);
  for (const name of ['SECRET_KEY', 'SECRET_KEY_PREVIOUS', 'DATABASE_URL', 'SMTP_PASSWORD', 'METRICS_TOKEN']) {
    assert.is(values[name] ?? '', '', `${name} must be empty in .env.example`);
  }
});

s.run();
