import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { loadConfig } from '../../server/config/config.js';
import { ROOT } from './cli-support.js';
import { productionEnv, scriptArgs } from './production-support.js';

/**
 * compose.yaml cannot be started here (no container engine). This suite
 * checks what can go wrong without one: the file parses, its two commands
 * are the migrate:prod and start:prod the production-start test runs, the
 * service gets every variable that test gives it, config reads every
 * variable the file sets, and the whole set is a valid production
 * configuration wired to the stack's own PostgreSQL, Mailpit and Jaeger.
 */

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

/** `${NAME:-default}` as compose resolves it with NAME unset. */
function resolve(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

function envOf(name: string): Record<string, string> {
  const env = services[name]?.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolve(String(v))]));
}

/** Every variable server/config/config.ts reads (the only reader of process.env). */
function configVariables(): Set<string> {
  const src = readFileSync(path.join(ROOT, 'server/config/config.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of src.matchAll(/\b(?:get|read|list)\(\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]!);
  return names;
}

const s = suite('compose.yaml: the local stack');

s('five services: PostgreSQL, the migration job, the service, Mailpit, Jaeger', () => {
  assert.equal(Object.keys(services).sort(), ['jaeger', 'mailpit', 'migrate', 'postgres', 'service']);
  assert.match(services.postgres!.image ?? '', /^postgres:\d+/);
  assert.match(services.mailpit!.image ?? '', /^axllent\/mailpit:/);
  assert.match(services.jaeger!.image ?? '', /^jaegertracing\//);
  for (const name of ['migrate', 'service']) {
    assert.is(services[name]!.build, '.', `${name} runs the image the Dockerfile builds`);
    assert.is(services[name]!.image, services.migrate!.image, 'one image for both');
  }
});

s('its commands are the ones the production-start test runs (migrate:prod, then start:prod)', () => {
  assert.equal(services.migrate!.command, ['node', ...scriptArgs('migrate:prod')]);
  assert.equal(services.service!.command, ['node', ...scriptArgs('start:prod')]);
  assert.equal(services.migrate!.depends_on, { postgres: { condition: 'service_healthy' } });
  assert.equal(services.service!.depends_on?.migrate, { condition: 'service_completed_successfully' });
});

s('the service gets every variable the production-start test sets, and config reads every one it sets', () => {
  const env = envOf('service');
  assert.equal(envOf('migrate'), env, 'the job and the service share one environment');
  // PATH, HOME and NODE_ENV come from the image; the test trades SCRYPT_LOG_N for SCRYPT_P only for
  // speed (the same N*r*p, less memory), where the stack keeps the defaults.
  const expected = Object.keys(productionEnv({ DATABASE_URL: 'postgres://x' })).filter(
    (n) => !['PATH', 'HOME', 'NODE_ENV', 'SCRYPT_LOG_N', 'SCRYPT_P'].includes(n),
  );
  const missing = expected.filter((n) => !(n in env));
  assert.equal(missing, [], `compose.yaml lacks ${missing.join(', ')}`);
  const known = configVariables();
  assert.ok(known.size >= 30, 'the scan of config.ts found its variables');
  const unknown = Object.keys(env).filter((n) => !known.has(n) && !n.startsWith('OTEL_'));
  assert.equal(unknown, [], `config does not read ${unknown.join(', ')}`);
  assert.not.ok('SCRYPT_LOG_N' in env, 'the real hashing cost');
});

s('the environment is a valid production configuration wired to the stack', () => {
  const env = envOf('service');
  const config = loadConfig(env, { cwd: path.join(ROOT, '.data', 'compose-check') });
  assert.is(config.isProduction, true);
  assert.ok(config.secretKey.length >= 32);

  const db = new URL(config.databaseUrl!);
  const pg = envOf('postgres');
  assert.is(db.hostname, 'postgres');
  assert.is(decodeURIComponent(db.username), pg.POSTGRES_USER);
  assert.is(decodeURIComponent(db.password), pg.POSTGRES_PASSWORD);
  assert.is(db.pathname, `/${pg.POSTGRES_DB}`);

  assert.is(config.smtp?.host, 'mailpit');
  assert.is(config.smtp?.port, 1025);
  assert.is(envOf('mailpit').MP_SMTP_AUTH_ACCEPT_ANY, '1', 'Mailpit takes the service’s SMTP login');
  assert.ok(services.mailpit!.ports?.includes('8025:8025'), 'the web inbox');

  assert.is(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
  assert.is(envOf('jaeger').COLLECTOR_OTLP_ENABLED, 'true');
  assert.ok(services.jaeger!.ports?.includes('16686:16686'), 'the Jaeger UI');

  // The mail links and the account page point at the published port.
  const published = services.service!.ports?.[0]?.split(':');
  assert.is(published?.[1], String(config.port));
  assert.is(config.publicUrl, `http://localhost:${published?.[0]}`);
  assert.is(config.host, '0.0.0.0');
});

s.run();
