/**
 * The package as a stranger gets it: build, `npm pack`, install the tarball
 * into a project outside the repository, type-check a consumer against the
 * bundled declarations, then run it against a live service.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = path.join(repo, 'node_modules/typescript/bin/tsc');

interface Ctx {
  svc: TestService;
  user: TestUser;
  dir: string;
  project: string;
  tarball: string;
}
const s = suite<Ctx>('client package: consumer outside the repository');

// Child npm must not inherit the settings of the `npm test` that started us
// (workspace, prefix, ...).
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
}

async function sh(
  file: string,
  args: string[],
  cwd: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: cleanEnv(), maxBuffer: 32 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}

s.before(async (ctx) => {
  ctx.svc = await startService();
  ctx.user = await createVerifiedUser(ctx.svc.url);
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-consumer-'));
  ctx.project = path.join(ctx.dir, 'app');
});
s.after(async (ctx) => {
  await ctx.svc.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const CONSUMER = `import {
  AppCode,
  createAuthClient,
  createSession,
  createTokenVerifier,
  isAuthError,
  type AccessClaims,
  type AppRouter,
  type BrowserTokenPair,
  type PublicUser,
  type RouterOutputs,
  type TokenPair,
} from '@secure-auth/client';

declare const process: { argv: string[] };
const [url, email, password, issuer] = process.argv.slice(2) as [string, string, string, string];

// Never called: these lines must not compile.
export async function typeErrors(): Promise<void> {
  const client = createAuthClient({ url });
  // @ts-expect-error login needs a password
  await client.auth.login.mutate({ email });
  const me = await client.auth.me.query();
  // @ts-expect-error email is a string
  const n: number = me.email;
  void n;
}

async function main(): Promise<void> {
  const client = createAuthClient({ url });
  const answer = await client.auth.login.mutate({ email, password });
  if ('mfaRequired' in answer) throw new Error('second factor needed: ' + answer.methods.join(', '));
  // Without cookie: true the refresh token is in the body; the type covers both answers.
  const pair: TokenPair | BrowserTokenPair = answer;

  const session = createSession({ url });
  await session.login({ email, password });
  const me: PublicUser = await session.client.auth.me.query();
  const devices: RouterOutputs['sessions']['list'] = await session.client.sessions.list.query();

  const claims: AccessClaims = await createTokenVerifier({ url, issuer }).verify(pair.accessToken);

  let wrongPassword: string = 'none';
  try {
    await client.auth.login.mutate({ email, password: password + '!' });
  } catch (err) {
    if (isAuthError(err, AppCode.INVALID_CREDENTIALS)) wrongPassword = err.data.appCode;
  }
  await session.logout();
  const router: AppRouter | undefined = undefined;
  console.log(JSON.stringify({ email: me.email, id: me.id, sub: claims.sub, devices: devices.length, wrongPassword, loggedOut: session.tokens() === null, router: router ?? null }));
}

main().catch((err: unknown) => {
  console.error(err);
  throw err;
});
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    // Check the package's declarations too: they must stand on their own.
    skipLibCheck: false,
    // tRPC's declarations use Disposable; skipLibCheck: false sees them.
    lib: ['ES2022', 'DOM', 'ESNext.Disposable'],
    types: [],
    outDir: 'out',
  },
  files: ['consumer.ts'],
};

s('npm pack: a tarball with only what a consumer needs', async (ctx) => {
  // Another `npm test` in this checkout may be building too: take turns.
  const t0 = Date.now();
  const lock = path.join(os.tmpdir(), 'secure-auth-client-build.lock');
  const script = `npm run build -w client >"$1/build.log" 2>&1 && npm pack -w client --ignore-scripts --json --pack-destination "$1" >"$1/pack.json"`;
  const packed = existsSync('/usr/bin/flock')
    ? await sh('flock', [lock, 'sh', '-c', script, 'sh', ctx.dir], repo)
    : await sh('sh', ['-c', script, 'sh', ctx.dir], repo);
  console.log(`   build + pack: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(
    packed.code,
    0,
    `${packed.stderr}\n${existsSync(path.join(ctx.dir, 'build.log')) ? readFileSync(path.join(ctx.dir, 'build.log'), 'utf8') : ''}`,
  );

  const [info] = JSON.parse(readFileSync(path.join(ctx.dir, 'pack.json'), 'utf8')) as Array<{
    filename: string;
    size: number;
    unpackedSize: number;
    files: Array<{ path: string; size: number }>;
  }>;
  ctx.tarball = path.join(ctx.dir, info!.filename);
  const files = info!.files.map((f) => f.path).sort();
  assert.equal(files, [
    'LICENSE',
    'README.md',
    'dist/browser.cjs',
    'dist/browser.d.cts',
    'dist/browser.d.ts',
    'dist/browser.js',
    'dist/index.cjs',
    'dist/index.d.cts',
    'dist/index.d.ts',
    'dist/index.js',
    'package.json',
  ]);
  console.log(
    `   tarball ${info!.filename}: ${info!.size} bytes packed, ${info!.unpackedSize} unpacked; ${info!.files.map((f) => `${f.path} ${f.size}`).join(', ')}`,
  );

  const manifest = JSON.parse(readFileSync(path.join(repo, 'client/package.json'), 'utf8'));
  assert.equal(manifest.exports['.'].import, { types: './dist/index.d.ts', default: './dist/index.js' });
  assert.equal(manifest.exports['.'].require, { types: './dist/index.d.cts', default: './dist/index.cjs' });
  assert.equal(Object.keys(manifest.peerDependencies).sort(), ['@trpc/client', '@trpc/server']);
  assert.is(manifest.dependencies, undefined, 'no runtime dependencies');

  // Self-contained declarations: only the peers are imported; no path back
  // into the repository, no server-side package.
  // (Comments are left out: TSDoc may name things, code may not.)
  const dts = readFileSync(path.join(repo, 'client/dist/index.d.ts'), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const dtsImports = [...dts.matchAll(/from '([^']+)'/g)]
    .map((m) => m[1])
    .filter((m) => !m!.startsWith('@secure-auth/'));
  assert.equal([...new Set(dtsImports)].sort(), ['@trpc/client', '@trpc/server']);
  for (const leak of ['import(', 'server/', 'shared/', 'mikro', 'express', 'pino', 'zod', 'Deps', 'EntityManager']) {
    assert.not.ok(dts.includes(leak), `index.d.ts mentions ${leak}`);
  }
  // Browser-safe runtime: no Node built-ins, only the peers.
  const js = readFileSync(path.join(repo, 'client/dist/index.js'), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const jsImports = [...js.matchAll(/from ['"]([^'"]+)['"]/g)].map((m) => m[1]);
  assert.equal([...new Set(jsImports)].sort(), ['@trpc/client', '@trpc/server/observable']);
  // Node's Buffer as a word: the bundled paseto checks `instanceof ArrayBuffer`, which browsers have.
  for (const [nodeOnly, pattern] of [
    ['node:', /node:/],
    ['require(', /\brequire\(/],
    ['Buffer', /(?<![A-Za-z])Buffer\b/],
    ['process.', /\bprocess\./],
  ] as const) {
    assert.not.ok(pattern.test(js), `index.js uses ${nodeOnly}`);
  }
});

s('the tarball installs into a project outside the repository with its peer dependency', async (ctx) => {
  const trpcVersion = JSON.parse(
    readFileSync(path.join(repo, 'node_modules/@trpc/client/package.json'), 'utf8'),
  ).version;
  mkdirSync(ctx.project, { recursive: true });
  writeFileSync(
    path.join(ctx.project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  // The peer comes from npm's cache (this repository installed it); the
  // registry is asked only for what the cache lacks.
  const t0 = Date.now();
  const installed = await sh(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      ctx.tarball,
      `@trpc/client@${trpcVersion}`,
    ],
    ctx.project,
  );
  console.log(`   npm install: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(installed.code, 0, installed.stderr);
  const nm = path.join(ctx.project, 'node_modules');
  assert.ok(existsSync(path.join(nm, '@secure-auth/client/dist/index.d.ts')));
  assert.ok(existsSync(path.join(nm, '@trpc/server/package.json')), '@trpc/server comes in as the peer of both');
  assert.not.ok(existsSync(path.join(nm, 'zod')), 'nothing else is pulled in');
});

s('a consumer type-checks with tsc --noEmit; the wrong inputs do not', async (ctx) => {
  writeFileSync(path.join(ctx.project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(path.join(ctx.project, 'consumer.ts'), CONSUMER);
  const ok = await sh(process.execPath, [tsc, '--noEmit', '-p', '.'], ctx.project);
  console.log(
    `   tsc --noEmit (consumer.ts): exit ${ok.code}${ok.stdout.trim() ? `\n${ok.stdout}` : ', no diagnostics'}`,
  );
  assert.is(ok.code, 0, ok.stdout);

  // Without the expect-error directives both mistakes are errors. (Were the
  // types `any`, the check above would already fail: an unused directive
  // is itself an error, TS2578.)
  const lines = CONSUMER.split('\n');
  const directives = lines.map((l, i) => (l.includes('@ts-expect-error') ? i : -1)).filter((i) => i >= 0);
  assert.is(directives.length, 2);
  writeFileSync(path.join(ctx.project, 'consumer.ts'), lines.filter((_, i) => !directives.includes(i)).join('\n'));
  const bad = await sh(process.execPath, [tsc, '--noEmit', '-p', '.'], ctx.project);
  writeFileSync(path.join(ctx.project, 'consumer.ts'), CONSUMER);
  console.log(
    `   tsc --noEmit without the @ts-expect-error lines: exit ${bad.code}\n${bad.stdout.trim().replace(/^/gm, '     ')}`,
  );
  assert.is.not(bad.code, 0);
  const errors = bad.stdout.split('\n').filter((l) => /^consumer\.ts\(\d+,\d+\): error TS\d+/.test(l));
  assert.is(errors.length, 2, bad.stdout);
  assert.match(errors[0]!, /password/);
  assert.match(errors[1]!, /Type 'string' is not assignable to type 'number'/);
});

s('the consumer runs against a live service (ESM), and the CommonJS entry loads', async (ctx) => {
  const built = await sh(process.execPath, [tsc, '-p', '.'], ctx.project);
  assert.is(built.code, 0, built.stdout);
  const ran = await sh(
    process.execPath,
    ['out/consumer.js', ctx.svc.url, ctx.user.email, ctx.user.password, ctx.svc.config.publicUrl],
    ctx.project,
  );
  assert.is(ran.code, 0, ran.stderr);
  const out = JSON.parse(ran.stdout.trim().split('\n').pop()!);
  assert.equal(out, {
    email: ctx.user.email,
    id: ctx.user.tokens.user.id,
    sub: ctx.user.tokens.user.id,
    devices: out.devices,
    wrongPassword: 'INVALID_CREDENTIALS',
    loggedOut: true,
    router: null,
  });
  assert.ok(out.devices >= 2);

  const cjs = await sh(
    process.execPath,
    [
      '-e',
      "const c = require('@secure-auth/client'); console.log([typeof c.createAuthClient, typeof c.createSession, typeof c.createTokenVerifier, c.AppCode.UNAUTHENTICATED].join(' '))",
    ],
    ctx.project,
  );
  assert.is(cjs.code, 0, cjs.stderr);
  assert.is(cjs.stdout.trim(), 'function function function UNAUTHENTICATED');
});

s.run();
