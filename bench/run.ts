/**
 * `npm run bench`: the performance instrument (docs/performance.md).
 *
 * Builds the service, starts it from dist/ as production does (telemetry SDK
 * preloaded, exporting to a local sink), on an embedded PostgreSQL of its
 * own, seeds users over the API and loads it over loopback with autocannon.
 * In the same run it measures two references on this machine: the scrypt
 * floor (crypto.scrypt at the service's parameters and concurrency) and the
 * framework ceiling (a no-op query on bare Express + tRPC). Prints one JSON
 * object (also written to .bench/last.json); exits 1 if any request failed.
 *
 *   npm run bench                  # full: both scrypt settings, 10 s per workload (< 5 min)
 *   npm run bench -- --quick       # smoke: ~2.5 s per workload
 *   options: --no-build  --pool N (UV_THREADPOOL_SIZE, default 4)  --hash-concurrency N
 *            --connections N (16)  --log-level warn|info  --scrypt 17,8,1 (repeatable)
 *            --profile (service runs with --cpu-prof into .bench/profiles)  --out FILE
 *            --only login,me,refresh,register,health,storm (a subset, e.g. to profile one path)
 *            --no-otel (service without the telemetry SDK, to price tracing)
 *            --otlp-json (export http/json instead of protobuf; the sink then counts spans by name)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../server/db/embedded-postgres.js';
import { initOrm, migrateUp } from '../server/db/orm.js';
import { runJsonChild, startServerChild } from './lib/child.js';
import { runLoad, startLoad, type LoadResult, type Workload } from './lib/load.js';
import { describeMachine, describeVersions } from './lib/machine.js';
import { startOtlpSink, type OtlpSink } from './lib/otlp-sink.js';
import { inParallel, login, pairFrom, registerUser, type BenchUser, type TokenPairLite } from './lib/seed.js';
import { cpuSeconds, otelRegisterBuilt, RssSampler, rssMiB, startService, waitIdle, type ServiceProcess } from './lib/service-process.js';
import { ratio, round } from './lib/stats.js';
import { steadyProbe, type ProbeResult } from './lib/steady-probe.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');

// ---------------------------------------------------------------- options

interface Options {
  quick: boolean;
  build: boolean;
  pool: number;
  hashConcurrency: number;
  connections: number;
  logLevel: string;
  settings: Array<{ logN: number; r: number; p: number }>;
  profile: boolean;
  only: string[];
  otel: boolean;
  otlpJson: boolean;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    build: true,
    pool: Number(process.env.UV_THREADPOOL_SIZE) || 4,
    hashConcurrency: 0,
    connections: 16,
    logLevel: 'warn',
    settings: [],
    profile: false,
    only: [],
    otel: true,
    otlpJson: false,
    out: path.join(repoRoot, '.bench/last.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--pool') o.pool = Number(val());
    else if (a === '--hash-concurrency') o.hashConcurrency = Number(val());
    else if (a === '--connections') o.connections = Number(val());
    else if (a === '--log-level') o.logLevel = val();
    else if (a === '--profile') o.profile = true;
    else if (a === '--no-otel') o.otel = false;
    else if (a === '--otlp-json') o.otlpJson = true;
    else if (a === '--only') o.only = val().split(',').map((w) => w.trim());
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--scrypt') {
      const [logN, r, p] = val().split(',').map(Number);
      if (!logN || !r || !p) throw new Error('--scrypt takes logN,r,p');
      o.settings.push({ logN, r, p });
    } else throw new Error(`unknown option ${a}`);
  }
  const known = ['login', 'me', 'refresh', 'register', 'health', 'storm'];
  for (const w of o.only) if (!known.includes(w)) throw new Error(`--only takes ${known.join(',')}`);
  if (!Number.isInteger(o.pool) || o.pool < 1 || o.pool > 1024) throw new Error('--pool must be 1..1024');
  // The service's own default (server/config/config.ts): one pool thread
  // stays free of hashes. Passed explicitly so bench and service agree.
  // The service's own default (server/config/config.ts): one pool thread and one core left free.
  if (!o.hashConcurrency) o.hashConcurrency = Math.max(1, Math.min(o.pool - 1, os.availableParallelism() - 1));
  if (o.settings.length === 0) {
    o.settings = [
      { logN: 17, r: 8, p: 1 }, // OWASP minimum, the service default
      { logN: 14, r: 16, p: 1 }, // a common lighter setting
    ];
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const T = opts.quick
  ? { measureS: 2.5, warmFastS: 0.5, warmHashS: 1, floorS: 2.5, floorPoolS: 1.5, floorWarmS: 0.3, probeS: 2.5, stormWarmS: 1 }
  : { measureS: 10, warmFastS: 1, warmHashS: 2, floorS: 10, floorPoolS: 3, floorWarmS: 0.5, probeS: 10, stormWarmS: 2 };
const PROBE_RATE = 200;
const C = opts.connections;

const log = (msg: string) => process.stderr.write(`[bench +${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
const t0 = performance.now();
const notes: string[] = [];

// ---------------------------------------------------------------- helpers

function build(): void {
  log('npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`npm run build failed (use --no-build to measure the existing dist/):\n${(r.stdout + r.stderr).slice(-3000)}`);
  }
}

interface FloorResult {
  cpu_ms_per_op: number;
  concurrency: number;
  ops_per_s: number;
  ops: number;
  duration_s: number;
  mean_ms: number;
}

/** Whether a workload is selected (--only). */
function want(name: string): boolean {
  return opts.only.length === 0 || opts.only.includes(name);
}

function scryptMemMiB(s: { logN: number; r: number }): number {
  return (128 * s.r * 2 ** s.logN) / 2 ** 20;
}

function failures(r: { errors: number; non2xx: number }): number {
  return r.errors + r.non2xx;
}

/** The figures one workload reports in the JSON. */
function brief(r: LoadResult) {
  return {
    rps: r.rps,
    p50_ms: r.p50_ms,
    p90_ms: r.p90_ms,
    p99_ms: r.p99_ms,
    max_ms: r.max_ms,
    requests: r.requests,
    window_s: r.window_s,
    warmup_s: r.warmup_s,
    total_requests: r.total_requests,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    ...(r.non2xx ? { statuses: r.statuses } : {}),
    ...(r.cpu_ms_per_request !== undefined ? { cpu_ms_per_request: r.cpu_ms_per_request, cpu_cores: r.cpu_cores } : {}),
  };
}

// ---------------------------------------------------------------- one scrypt setting

interface RunContext {
  databaseUrl: string;
  sink: OtlpSink;
  tmp: string;
  otel: boolean;
  runIndex: number;
}

/**
 * Reference 2: the framework ceiling. It does not depend on the scrypt
 * setting, so it is measured once per bench run and shared by every run.
 */
async function measureCeiling(): Promise<LoadResult | undefined> {
  if (!want('me')) return undefined;
  log('framework ceiling (bare Express + tRPC, no-op query)');
  const ceilingServer = await startServerChild(path.join(here, 'references/framework-ceiling.ts'), [], {
    env: { UV_THREADPOOL_SIZE: String(opts.pool), NODE_ENV: 'production' },
  });
  try {
    return await runLoad(
      `http://127.0.0.1:${ceilingServer.port}`,
      { name: 'ceiling', method: 'GET', path: '/trpc/noop', connections: C },
      { warmupS: T.warmFastS, measureS: T.measureS, cpuSeconds: () => cpuSeconds(ceilingServer.pid) },
    );
  } finally {
    await ceilingServer.stop();
  }
}

async function runSetting(s: { logN: number; r: number; p: number }, ctx: RunContext, ceiling: LoadResult | undefined) {
  const tag = `logN ${s.logN} r ${s.r} p ${s.p}`;
  const hc = opts.hashConcurrency;

  // Reference 1: the scrypt floor, in a process of its own with the same pool size.
  let floor: FloorResult | undefined;
  let floorPool: FloorResult | undefined;
  if (want('login') || want('register')) {
    const floorAt = async (concurrency: number, seconds: number) => {
      const out = await runJsonChild<{ results: FloorResult[] }>(
        path.join(here, 'references/scrypt-floor.ts'),
        [s.logN, s.r, s.p, seconds, T.floorWarmS, concurrency].map(String),
        { env: { UV_THREADPOOL_SIZE: String(opts.pool) } },
      );
      return out.results[0]!;
    };
    log(`${tag}: scrypt floor at concurrency ${hc}${hc === opts.pool ? '' : ` and ${opts.pool}`}`);
    floor = await floorAt(hc, T.floorS);
    // The pool-size figure gets a shorter run: it is context, not the ratios' base.
    floorPool = hc === opts.pool ? floor : await floorAt(opts.pool, T.floorPoolS);
  }

  // The service, from dist/, as production starts it.
  const port = await freePort();
  const dataDir = path.join(ctx.tmp, `service-${ctx.runIndex}`);
  mkdirSync(dataDir, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'production',
    // staging: production-like defaults without production's SMTP requirement.
    APP_ENV: 'staging',
    SECRET_KEY: randomBytes(32).toString('base64url'),
    DATA_DIR: dataDir,
    DATABASE_URL: ctx.databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    EMAIL_VERIFICATION_REQUIRED: 'false',
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: opts.logLevel,
    SCRYPT_LOG_N: String(s.logN),
    SCRYPT_R: String(s.r),
    SCRYPT_P: String(s.p),
    UV_THREADPOOL_SIZE: String(opts.pool),
    HASH_CONCURRENCY: String(hc),
    OTEL_SERVICE_NAME: 'secure-auth-bench',
    OTEL_EXPORTER_OTLP_ENDPOINT: ctx.sink.endpoint,
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    ...(opts.otlpJson ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } : {}),
  };
  // One folder per run: V8 writes one profile per thread (the ESM loader
  // hooks of the telemetry SDK run on a thread of their own); the main
  // thread's is the largest file.
  const profileDir = path.join(repoRoot, '.bench/profiles', `logN${s.logN}-r${s.r}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  if (opts.profile) {
    mkdirSync(profileDir, { recursive: true });
    notes.push(`${tag}: CPU profiles in ${path.relative(repoRoot, profileDir)} (summarise with: npx tsx bench/profile-summary.ts <file>)`);
  }
  log(`${tag}: starting the service`);
  const sinkBefore = ctx.sink.stats();
  const svc = await startService({
    repoRoot,
    cwd: dataDir,
    env,
    otel: ctx.otel,
    nodeArgs: opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  try {
    return await loadService(svc, s, tag, { floor, floorPool, ceiling, sinkBefore, ctx });
  } finally {
    const code = await svc.stop();
    if (code !== 0) notes.push(`${tag}: service exited with ${code}: ${svc.stderrTail().slice(-500)}`);
  }
}

async function loadService(
  svc: ServiceProcess,
  s: { logN: number; r: number; p: number },
  tag: string,
  ref: {
    floor?: FloorResult;
    floorPool?: FloorResult;
    ceiling?: LoadResult;
    sinkBefore: ReturnType<OtlpSink['stats']>;
    ctx: RunContext;
  },
) {
  const url = svc.url;
  const hc = opts.hashConcurrency;
  const runId = `${Date.now().toString(36)}${ref.ctx.runIndex}`;
  const password = `Bench-${randomBytes(15).toString('base64url')}`;
  const rssAtStart = rssMiB(svc.pid);
  // Seconds spent after each workload waiting for the service to go idle.
  const drained: Record<string, number> = {};
  const drain = async (name: string) => {
    drained[name] = await waitIdle(svc.pid);
  };

  // Seed a few users over the API (each costs a hash); connections share
  // them round-robin: concurrent logins of one user are as real as of many.
  const userCount = Math.min(C, 4);
  log(`${tag}: seeding ${userCount} users`);
  const users: BenchUser[] = Array.from({ length: userCount }, (_, i) => ({ email: `bench-${runId}-u${i}@example.com`, password }));
  await inParallel(users.length, hc + 1, (i) => registerUser(url, users[i]!));

  // auth.login: connection i logs in as user i mod userCount with the right password.
  const pairs: TokenPairLite[] = [];
  const loginWorkload: Workload = {
    name: 'auth.login',
    method: 'POST',
    path: '/trpc/auth.login',
    connections: C,
    body: '{}',
    setupClient: (client, i) => {
      const u = users[i % users.length]!;
      client.setBody(JSON.stringify({ email: u.email, password: u.password }));
    },
    onResponse: (status, body) => {
      if (status === 200 && pairs.length < 64) pairs.push(pairFrom(JSON.parse(body)));
    },
  };
  const workloads: Record<string, unknown> = {};
  // A failing reference is a broken instrument: it counts too.
  // (The ceiling is shared by all runs: counted in the first.)
  let errorCount = ref.ceiling && ref.ctx.runIndex === 0 ? failures(ref.ceiling) : 0;
  const measured = async (name: string, w: Workload, warmupS: number) => {
    log(`${tag}: ${name}`);
    const r = await runLoad(url, w, { warmupS, measureS: T.measureS, cpuSeconds: () => cpuSeconds(svc.pid) });
    workloads[name] = brief(r);
    errorCount += failures(r);
    if (r.requests < 30) {
      notes.push(`${tag}: ${name} had only ${r.requests} answers in its ${r.window_s} s window: its figures and ratios are not reliable (machine too slow or busy for this mode)`);
    }
    await drain(name);
    return r;
  };

  const loginR = want('login') ? await measured('auth.login', loginWorkload, T.warmHashS) : undefined;

  // Sessions for auth.me and auth.refresh (one per connection) and the probe.
  const needed = C + 1;
  if (pairs.length < needed) {
    const extra = await inParallel(needed - pairs.length, hc + 1, (i) => login(url, users[i % users.length]!));
    pairs.push(...extra);
  }
  const probePair = pairs[C]!;

  const meR = want('me')
    ? await measured(
        'auth.me',
        {
          name: 'auth.me',
          method: 'GET',
          path: '/trpc/auth.me',
          connections: C,
          setupClient: (client, i) => client.setHeaders({ authorization: `Bearer ${pairs[i % C]!.accessToken}` }),
        },
        T.warmFastS,
      )
    : undefined;

  // auth.refresh: every request presents a fresh token. Each connection owns
  // one session and always presents the token its previous refresh returned
  // (a chain), warm-up and window alike.
  const chains = pairs.slice(0, C).map((p) => ({ token: p.refreshToken }));
  const refreshR = want('refresh')
    ? await measured(
        'auth.refresh',
        {
          name: 'auth.refresh',
          method: 'POST',
          path: '/trpc/auth.refresh',
          connections: C,
          body: '{}',
          setupClient: (client, i) => {
            const chain = chains[i % chains.length]!;
            client.setRequests([
              {
                method: 'POST',
                path: '/trpc/auth.refresh',
                headers: { 'content-type': 'application/json' },
                setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ refreshToken: chain.token }) }),
                onResponse: (status: number, body: string) => {
                  if (status === 200) chain.token = pairFrom(JSON.parse(body)).refreshToken;
                },
              },
            ]);
          },
        },
        T.warmFastS,
      )
    : undefined;

  // auth.register: a new, unique email on every request.
  let n = 0;
  const registerR = want('register')
    ? await measured(
        'auth.register',
        {
          name: 'auth.register',
          method: 'POST',
          path: '/trpc/auth.register',
          connections: C,
          body: '{}',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ email: `bench-${runId}-r${n++}@example.com`, password, fullName: 'Bench Register' }),
          }),
        },
        T.warmHashS,
      )
    : undefined;

  if (want('health')) {
    await measured('health', { name: 'health', method: 'GET', path: '/health', connections: C }, T.warmFastS);
  }

  // auth.me at a steady rate, alone and then during a login storm.
  let idle: ProbeResult | undefined;
  let during: ProbeResult | undefined;
  let mem: ReturnType<RssSampler['stop']> | undefined;
  if (want('storm')) {
    const probe = (): Promise<ProbeResult> =>
      steadyProbe({
        url,
        path: '/trpc/auth.me',
        headers: { authorization: `Bearer ${probePair.accessToken}` },
        ratePerS: PROBE_RATE,
        durationS: T.probeS,
      });
    log(`${tag}: auth.me at ${PROBE_RATE}/s alone`);
    idle = await probe();
    await drain('auth.me@200rps_idle');
    log(`${tag}: auth.me at ${PROBE_RATE}/s during a login storm (${C} connections)`);
    const rss = new RssSampler(svc.pid, 100);
    rss.start();
    // The storm's window is the probe's: its req/s is the login rate while auth.me was probed.
    const storm = startLoad(url, loginWorkload, { warmupS: T.stormWarmS, measureS: 3600, cpuSeconds: () => cpuSeconds(svc.pid) });
    await new Promise((r) => setTimeout(r, T.stormWarmS * 1000));
    during = await probe();
    storm.stop();
    const stormR = await storm.done;
    mem = rss.stop();
    for (const [name, pr] of [['alone', idle], ['during the storm', during]] as const) {
      if (pr.completed_in_s > T.probeS * 1.5) {
        notes.push(`${tag}: the ${PROBE_RATE}/s auth.me probe ${name} fell behind (answers took until ${pr.completed_in_s} s for a ${T.probeS} s probe): the service cannot sustain ${PROBE_RATE}/s here`);
      }
    }
    workloads['auth.me@200rps_idle'] = idle;
    workloads['auth.me@200rps_storm'] = during;
    workloads['auth.login_storm'] = brief(stormR);
    errorCount += idle.errors + idle.non2xx + during.errors + during.non2xx + stormR.errors + stormR.non2xx;
  }

  const sinkAfter = ref.ctx.sink.stats();
  const memTarget = 150 + hc * scryptMemMiB(s);
  const ratios = {
    login_vs_scrypt_floor: loginR && ref.floor ? ratio(loginR.rps, ref.floor.ops_per_s) : null,
    register_vs_scrypt_floor: registerR && ref.floor ? ratio(registerR.rps, ref.floor.ops_per_s) : null,
    me_vs_framework_ceiling: meR && ref.ceiling ? ratio(meR.rps, ref.ceiling.rps) : null,
    refresh_vs_me: refreshR && meR ? ratio(refreshR.rps, meR.rps) : null,
    me_p99_storm_vs_idle: during && idle ? ratio(during.p99_ms, idle.p99_ms) : null,
    peak_rss_mib: mem ? mem.peak_rss_mib : null,
    peak_rss_target_mib: round(memTarget, 1),
  };
  const atLeast = (v: number | null, min: number) => (v === null ? null : v >= min);
  const targetsMet = {
    login_vs_scrypt_floor: atLeast(ratios.login_vs_scrypt_floor, 0.95),
    register_vs_scrypt_floor: atLeast(ratios.register_vs_scrypt_floor, 0.9),
    me_vs_framework_ceiling: atLeast(ratios.me_vs_framework_ceiling, 0.5),
    refresh_vs_me: atLeast(ratios.refresh_vs_me, 0.4),
    me_p99_storm_vs_idle: ratios.me_p99_storm_vs_idle === null ? null : ratios.me_p99_storm_vs_idle <= 5,
    peak_rss: mem ? mem.peak_rss_mib <= memTarget : null,
    zero_errors: errorCount === 0,
  };
  return {
    scrypt: s,
    hash_concurrency: hc,
    uv_threadpool_size: opts.pool,
    scrypt_memory_mib_per_hash: scryptMemMiB(s),
    ratios,
    targets_met: targetsMet,
    errors_total: errorCount,
    references: {
      ...(ref.floor ? { scrypt_floor: { ...ref.floor, note: 'crypto.scrypt at the service hash concurrency: the ratios use this' } } : {}),
      ...(ref.floorPool ? { scrypt_floor_pool_size: { ...ref.floorPool, note: 'crypto.scrypt, one hash per pool thread' } } : {}),
      ...(ref.ceiling ? { framework_ceiling: { ...brief(ref.ceiling), note: 'measured once per bench run, shared by every run' } } : {}),
    },
    workloads,
    drained_s: drained,
    memory: { ...(mem ?? {}), rss_at_start_mib: rssAtStart, target_mib: round(memTarget, 1), note: 'peak_rss_mib: VmRSS sampled every 100 ms over the storm' },
    telemetry_sink: {
      requests: sinkAfter.requests - ref.sinkBefore.requests,
      bytes: sinkAfter.bytes - ref.sinkBefore.bytes,
      ...(opts.otlpJson
        ? {
            spans: sinkAfter.spans - ref.sinkBefore.spans,
            span_names: Object.fromEntries(
              Object.entries(sinkAfter.spanNames).map(([k, v]) => [k, v - (ref.sinkBefore.spanNames[k] ?? 0)]).filter(([, v]) => Number(v) > 0),
            ),
          }
        : {}),
    },
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  if (opts.build) build();
  const otel = opts.otel && otelRegisterBuilt(repoRoot);
  if (!opts.otel) notes.push('--no-otel: the service ran WITHOUT the telemetry SDK (figures exclude tracing cost)');
  else if (!otel) notes.push('dist/otel/register.js not built: the service ran WITHOUT the telemetry SDK (figures exclude tracing cost)');
  if (opts.logLevel !== 'info') {
    notes.push(`LOG_LEVEL=${opts.logLevel}: no per-request log line (production default is info; measure with --log-level info)`);
  }
  notes.push('rate limits off (RATE_LIMIT_ENABLED=false) so they do not shape the result; email verification off for seeding');
  notes.push('embedded PostgreSQL with durable settings (fsync and synchronous_commit on), same machine as service and load');
  const machine = describeMachine();
  if (machine.load_avg_at_start[0]! > 0.5) {
    notes.push(`machine not idle at start (load average ${machine.load_avg_at_start.join(' ')}): figures are provisional`);
  }

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-bench-'));
  // As root, PostgreSQL runs as a 'postgres' user that must reach db/ inside.
  chmodSync(tmp, 0o755);
  let db: EmbeddedDatabase | undefined;
  let sink: OtlpSink | undefined;
  const cleanup = async () => {
    await sink?.close().catch(() => undefined);
    await db?.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    sink = await startOtlpSink();
    log('starting embedded PostgreSQL');
    // persistent: the durable settings a real deployment has; the folder is
    // temporary and removed at the end all the same.
    db = await startEmbeddedPostgres({ dir: path.join(tmp, 'db'), persistent: true });
    const orm = await initOrm({ clientUrl: db.url });
    await migrateUp(orm);
    await orm.close(true);

    const ceiling = await measureCeiling();
    const runs = [];
    for (const [i, s] of opts.settings.entries()) {
      runs.push(await runSetting(s, { databaseUrl: db.url, sink, tmp, otel, runIndex: i }, ceiling));
    }
    const errorsTotal = runs.reduce((a, r) => a + r.errors_total, 0);
    const report = {
      bench: 'secure-auth',
      mode: opts.quick ? 'quick' : 'full',
      started_at: new Date(Date.now() - (performance.now() - t0)).toISOString(),
      duration_s: round((performance.now() - t0) / 1000, 1),
      ok: errorsTotal === 0,
      errors_total: errorsTotal,
      machine,
      versions: describeVersions(repoRoot),
      parameters: {
        connections: C,
        measure_s: T.measureS,
        warmup_s: { fast: T.warmFastS, hashing: T.warmHashS },
        scrypt_floor_s: T.floorS,
        probe: { rate_per_s: PROBE_RATE, duration_s: T.probeS, storm_connections: C, storm_warmup_s: T.stormWarmS },
        uv_threadpool_size: opts.pool,
        hash_concurrency: opts.hashConcurrency,
        log_level: opts.logLevel,
        ...(opts.only.length ? { only: opts.only } : {}),
        telemetry: otel ? 'sdk preloaded (--import dist/otel/register.js), OTLP/HTTP to a local sink' : 'off (not built)',
        db_pool_max: 10,
        service_command: `node ${otel ? '--import ./dist/otel/register.js ' : ''}dist/server/main.js`,
      },
      targets: {
        login_vs_scrypt_floor: '>= 0.95',
        register_vs_scrypt_floor: '>= 0.90',
        me_vs_framework_ceiling: '>= 0.50',
        refresh_vs_me: '>= 0.40',
        me_p99_storm_vs_idle: '<= 5',
        peak_rss_mib: '<= 150 + hash_concurrency x 128 x r x 2^logN bytes',
        errors: '0 in every workload',
      },
      notes,
      runs,
    };
    const json = JSON.stringify(report, null, 2);
    process.stdout.write(json + '\n');
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, json + '\n');
    log(`written to ${path.relative(process.cwd(), opts.out)}`);
    if (errorsTotal > 0) log(`FAILED: ${errorsTotal} errors or non-2xx answers`);
    return errorsTotal === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
