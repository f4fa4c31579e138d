/**
 * `npm run bench`: the performance instrument (see docs/performance.md).
 *
 * Builds the service, starts it from dist/ as production does (telemetry SDK
 * preloaded, exporting to a local sink), on an embedded PostgreSQL of its
 * own, seeds users over the API and loads it over loopback with autocannon.
 * In the same run it measures three references on this machine: the scrypt
 * floor (crypto.scrypt at the service's parameters, one hash per core), the
 * framework ceiling (a no-op query on bare Express + tRPC) and the Better
 * Auth peer (bench/peers/better-auth). auth.me and the two references it is
 * judged against are measured in alternating rounds, ratios taken per
 * round. Prints one JSON object (also written to .bench/last.json); exits 1
 * if any request failed.
 *
 *   npm run bench                  # full: both scrypt settings, 10 s per workload (< 8 min on 2 cores)
 *   npm run bench -- --quick       # smoke: ~2.5 s per workload
 *   options: --no-build  --no-peer  --pool N (UV_THREADPOOL_SIZE, default 4)  --hash-concurrency N (default: cores)
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
import { createPeerDatabase, ensurePeerInstalled, peerSession, startPeer } from './lib/peer.js';
import { inParallel, login, pairFrom, registerUser, type BenchUser, type TokenPairLite } from './lib/seed.js';
import {
  cpuSeconds,
  otelRegisterBuilt,
  RssSampler,
  rssMiB,
  startService,
  treeCpuSeconds,
  waitIdle,
  type ServiceProcess,
} from './lib/service-process.js';
import { median, ratio, round, spread } from './lib/stats.js';
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
  peer: boolean;
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
    peer: true,
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
    else if (a === '--no-peer') o.peer = false;
    else if (a === '--only')
      o.only = val()
        .split(',')
        .map((w) => w.trim());
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
  // The service's own default (server/config/config.ts): one hashing process per core.
  // Passed explicitly so bench and service agree.
  if (!o.hashConcurrency) o.hashConcurrency = os.availableParallelism();
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
  ? {
      measureS: 2.5,
      warmFastS: 0.5,
      warmHashS: 1,
      floorS: 2.5,
      floorPoolS: 1.5,
      floorWarmS: 0.3,
      probeS: 2.5,
      stormWarmS: 1,
      roundS: 1.5,
      roundWarmS: 1,
      roundWarmupS: 0.3,
    }
  : {
      measureS: 10,
      warmFastS: 1,
      warmHashS: 2,
      floorS: 10,
      floorPoolS: 3,
      floorWarmS: 0.5,
      probeS: 6,
      stormWarmS: 2,
      roundS: 2,
      roundWarmS: 2,
      roundWarmupS: 0.5,
    };
const PROBE_RATE = 200;
/** Steady-rate windows alone and during the storm; their medians make the storm ratio. */
const PROBE_WINDOWS = 3;
/** Alternating rounds of auth.me and its references (ceiling, Better Auth); ratios are per round, then the median. */
const SESSION_ROUNDS = opts.quick ? 3 : 5;
const CORES = os.availableParallelism();
/** Better Auth's own scrypt cost (N 2^14, r 16, p 1): login_vs_better_auth is measured at it. */
const PEER_COST = { logN: 14, r: 16, p: 1 };
/**
 * glibc settings that keep scrypt's working memory on the heap between
 * hashes instead of mapping and faulting it in afresh each time (the service's
 * hashing processes run with the same thresholds); one arena, because the
 * floor hashes on libuv threads, whose own arenas cannot hold 128 MiB.
 */
const WARM_HEAP_TUNABLES =
  'glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295';
const C = opts.connections;

const log = (msg: string) => process.stderr.write(`[bench +${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
const t0 = performance.now();
const notes: string[] = [];

// ---------------------------------------------------------------- helpers

function build(): void {
  log('npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `npm run build failed (use --no-build to measure the existing dist/):\n${(r.stdout + r.stderr).slice(-3000)}`,
    );
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

/** Something the session-check rounds load: the service's auth.me, the ceiling, Better Auth's get-session. */
interface SessionCheckTarget {
  /** One window of its session-check workload: a warm-up, then the measured part. */
  load(win: { warmupS: number; measureS: number }): Promise<LoadResult>;
}

/** A reference server kept running for the whole bench, loaded in rounds between the service's own windows. */
interface LiveReference extends SessionCheckTarget {
  stop(): Promise<void>;
}

/**
 * Reference 2: the framework ceiling, a no-op query on bare Express + tRPC.
 * It does not depend on the scrypt setting; it runs for the whole bench and
 * is loaded in the session-check rounds, next to auth.me.
 */
async function startCeiling(): Promise<LiveReference | undefined> {
  if (!want('me')) return undefined;
  log('framework ceiling (bare Express + tRPC, no-op query): starting');
  const server = await startServerChild(path.join(here, 'references/framework-ceiling.ts'), [], {
    env: { UV_THREADPOOL_SIZE: String(opts.pool), NODE_ENV: 'production' },
  });
  return {
    load: (win) =>
      runLoad(
        `http://127.0.0.1:${server.port}`,
        { name: 'ceiling', method: 'GET', path: '/trpc/noop', connections: C },
        { ...win, cpuSeconds: () => cpuSeconds(server.pid) },
      ),
    stop: () => server.stop(),
  };
}

/** The Better Auth peer: sign-in measured once at start, get-session loaded in the rounds. */
interface PeerReference {
  version: string;
  signIn?: LoadResult;
  rssAtStartMiB: number;
  /** Present when auth.me is measured. */
  getSession?: SessionCheckTarget;
  stop(): Promise<void>;
}

/**
 * Reference 3: the Better Auth peer, loaded exactly as the service's auth.me
 * (its get-session with the session cookie, same connections and windows)
 * and login (its sign-in, 4 users round-robin). Tracing off, as it ships.
 */
async function startPeerReference(databaseUrl: string): Promise<PeerReference | undefined> {
  if (!opts.peer || !(want('me') || want('login'))) return undefined;
  const version = ensurePeerInstalled(log);
  const peer = await startPeer(await createPeerDatabase(databaseUrl), { UV_THREADPOOL_SIZE: String(opts.pool) });
  try {
    const rssAtStartMiB = rssMiB(peer.pid);
    const password = `Bench-${randomBytes(15).toString('base64url')}`;
    const users = Array.from({ length: Math.min(C, 4) }, (_, i) => `peer-u${i}@example.com`);
    log(`Better Auth ${version}: seeding ${users.length} users and ${C} sessions`);
    const cookies = await inParallel(C, 2, (i) =>
      peerSession(peer.url, users[i % users.length]!, password, i < users.length),
    );
    const win = (warmupS: number, measureS: number) => ({
      warmupS,
      measureS,
      cpuSeconds: () => cpuSeconds(peer.pid),
    });
    let signIn: LoadResult | undefined;
    if (want('login')) {
      log(`Better Auth ${version}: sign-in`);
      signIn = await runLoad(
        peer.url,
        {
          name: 'better_auth.sign_in',
          method: 'POST',
          path: '/api/auth/sign-in/email',
          connections: C,
          // Better Auth refuses a POST without an Origin (its browser clients always send one).
          headers: { origin: peer.url },
          body: '{}',
          setupClient: (client, i) => client.setBody(JSON.stringify({ email: users[i % users.length], password })),
        },
        win(T.warmHashS, T.measureS),
      );
      await waitIdle(peer.pid);
    }
    const getSession: SessionCheckTarget | undefined = want('me')
      ? {
          load: ({ warmupS, measureS }) =>
            runLoad(
              peer.url,
              {
                name: 'better_auth.get_session',
                method: 'GET',
                path: '/api/auth/get-session',
                connections: C,
                setupClient: (client, i) => client.setHeaders({ cookie: cookies[i % C]! }),
              },
              win(warmupS, measureS),
            ),
        }
      : undefined;
    return { version, signIn, rssAtStartMiB, getSession, stop: () => peer.stop() };
  } catch (err) {
    await peer.stop();
    throw err;
  }
}

function sameCost(a: { logN: number; r: number; p: number }, b: { logN: number; r: number; p: number }): boolean {
  return a.logN === b.logN && a.r === b.r && a.p === b.p;
}

async function runSetting(
  s: { logN: number; r: number; p: number },
  ctx: RunContext,
  ceiling: LiveReference | undefined,
  peer: PeerReference | undefined,
) {
  const tag = `logN ${s.logN} r ${s.r} p ${s.p}`;
  const hc = opts.hashConcurrency;

  // Reference 1: the scrypt floor, in a process of its own: one hash per
  // core (the machine's limit), at the service's hash concurrency and at the
  // pool size (context), each measured once when they coincide.
  let floor: FloorResult | undefined;
  let floorCores: FloorResult | undefined;
  let floorPool: FloorResult | undefined;
  let floorWarm: FloorResult | undefined;
  if (want('login') || want('register')) {
    const floorAt = async (concurrency: number, seconds: number, extraEnv: Record<string, string> = {}) => {
      const out = await runJsonChild<{ results: FloorResult[] }>(
        path.join(here, 'references/scrypt-floor.ts'),
        [s.logN, s.r, s.p, seconds, T.floorWarmS, concurrency].map(String),
        { env: { UV_THREADPOOL_SIZE: String(Math.max(opts.pool, concurrency)), ...extraEnv } },
      );
      return out.results[0]!;
    };
    log(`${tag}: scrypt floor, one hash per core (${CORES})`);
    floorCores = await floorAt(CORES, T.floorS);
    // The same hashes with the allocator keeping scrypt's memory between
    // them, as the service's hashing processes do: the machine's real limit.
    log(`${tag}: scrypt floor with reused memory, one hash per core (${CORES})`);
    floorWarm = await floorAt(CORES, T.floorS, { GLIBC_TUNABLES: WARM_HEAP_TUNABLES });
    floor = hc === CORES ? floorCores : await floorAt(hc, T.floorS);
    // The pool-size figure gets a shorter run: it is context, not the ratios' base.
    floorPool = opts.pool === CORES ? floorCores : opts.pool === hc ? floor : await floorAt(opts.pool, T.floorPoolS);
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
    // Shared with the untraced instance below, so the same tokens verify there.
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
    // Every request sampled and exported: tracing's full price.
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    ...(opts.otlpJson ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } : {}),
  };
  // One folder per run: V8 writes one profile per thread (the ESM loader
  // hooks of the telemetry SDK run on a thread of their own); the main
  // thread's is the largest file.
  const profileDir = path.join(
    repoRoot,
    '.bench/profiles',
    `logN${s.logN}-r${s.r}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  if (opts.profile) {
    mkdirSync(profileDir, { recursive: true });
    notes.push(
      `${tag}: CPU profiles in ${path.relative(repoRoot, profileDir)} (summarise with: npx tsx bench/profile-summary.ts <file>)`,
    );
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
  const stopService = async (which: ServiceProcess, name: string) => {
    const code = await which.stop();
    if (code !== 0) notes.push(`${tag}: ${name} exited with ${code}: ${which.stderrTail().slice(-500)}`);
  };
  // auth.me with tracing off: the same build on the same database and key,
  // without the SDK, running beside the traced instance for the rounds.
  const startUntraced = async (): Promise<UntracedInstance> => {
    const plain = await startService({
      repoRoot,
      cwd: dataDir,
      env: { ...env, PORT: String(await freePort()) },
      otel: false,
    });
    return { svc: plain, stop: () => stopService(plain, 'untraced service') };
  };
  try {
    return await loadService(svc, s, tag, {
      floor,
      floorCores,
      floorPool,
      floorWarm,
      ceiling,
      peer,
      sinkBefore,
      ctx,
      startUntraced: ctx.otel && want('me') ? startUntraced : undefined,
    });
  } finally {
    await stopService(svc, 'service');
  }
}

interface UntracedInstance {
  svc: ServiceProcess;
  stop(): Promise<void>;
}

/** What the session-check rounds measured, one entry per round. */
interface SessionRounds {
  /** auth.me on the traced instance (absent with --no-otel). */
  traced: LoadResult[];
  /** auth.me without telemetry. */
  untraced: LoadResult[];
  ceiling: LoadResult[];
  peer: LoadResult[];
}

/**
 * auth.me and the references it is judged against, measured in alternating
 * rounds (ceiling, auth.me traced, auth.me untraced, Better Auth get-session)
 * rather than once each minutes apart: a ratio is taken within each round,
 * so drift in the machine's speed over the run moves both of its sides.
 */
async function sessionCheckRounds(
  tag: string,
  targets: {
    traced?: ServiceProcess;
    untraced: ServiceProcess;
    ceiling?: SessionCheckTarget;
    peer?: SessionCheckTarget;
  },
  pairs: TokenPairLite[],
): Promise<SessionRounds> {
  const me = (svc: ServiceProcess): SessionCheckTarget => ({
    async load(win) {
      const r = await runLoad(svc.url, meWorkload(pairs), { ...win, cpuSeconds: () => treeCpuSeconds(svc.pid) });
      await waitIdle(svc.pid);
      return r;
    },
  });
  // Loaded in this order in every round.
  const order: Array<[keyof SessionRounds, SessionCheckTarget | undefined]> = [
    ['ceiling', targets.ceiling],
    ['traced', targets.traced && me(targets.traced)],
    ['untraced', me(targets.untraced)],
    ['peer', targets.peer],
  ];
  const out: SessionRounds = { traced: [], untraced: [], ceiling: [], peer: [] };
  // A freshly started instance runs its first thousands of calls cold (JIT,
  // heap sizing): warm every target up before the first measured round.
  log(`${tag}: session checks, warming up`);
  for (const [, target] of order) await target?.load({ warmupS: T.roundWarmS, measureS: 0.5 });
  for (let i = 0; i < SESSION_ROUNDS; i++) {
    log(`${tag}: session checks, round ${i + 1} of ${SESSION_ROUNDS} (ceiling, auth.me, Better Auth)`);
    for (const [name, target] of order) {
      if (target) out[name].push(await target.load({ warmupS: T.roundWarmupS, measureS: T.roundS }));
    }
  }
  return out;
}

/** The round whose req/s is the median: its figures stand for the workload in the JSON. */
function medianRound(rs: LoadResult[]): LoadResult | undefined {
  return [...rs].sort((a, b) => a.rps - b.rps)[Math.floor(rs.length / 2)];
}

/** How far each session-check figure and ratio moved over the rounds. */
function roundsSpread(r: SessionRounds) {
  const out: Record<string, ReturnType<typeof spread>> = {};
  const figures: Array<[string, LoadResult[]]> = [
    ['framework_ceiling', r.ceiling],
    ['auth.me', r.traced],
    ['auth.me_untraced', r.untraced],
    ['better_auth.get_session', r.peer],
  ];
  for (const [name, rs] of figures) {
    if (rs.length === 0) continue;
    out[`${name}_rps`] = spread(rs.map((x) => x.rps));
    const cpu = rs.flatMap((x) => (x.cpu_ms_per_request === undefined ? [] : [x.cpu_ms_per_request]));
    if (cpu.length) out[`${name}_cpu_ms_per_request`] = spread(cpu);
  }
  const ratios: Array<[string, LoadResult[], LoadResult[]]> = [
    ['me_vs_framework_ceiling', r.untraced, r.ceiling],
    ['me_vs_framework_ceiling_traced', r.traced, r.ceiling],
    ['me_vs_better_auth', r.untraced, r.peer],
  ];
  for (const [name, a, b] of ratios) {
    const rs = roundRatios(a, b);
    if (rs.length) out[name] = spread(rs);
  }
  return out;
}

/** Per-round ratios a[i] / b[i]. */
function roundRatios(a: LoadResult[], b: LoadResult[]): number[] {
  return a.flatMap((x, i) => {
    const r = b[i] ? ratio(x.rps, b[i].rps) : null;
    return r === null ? [] : [r];
  });
}

function meWorkload(pairs: TokenPairLite[]): Workload {
  return {
    name: 'auth.me',
    method: 'GET',
    path: '/trpc/auth.me',
    connections: C,
    setupClient: (client, i) => client.setHeaders({ authorization: `Bearer ${pairs[i % C]!.accessToken}` }),
  };
}

async function loadService(
  svc: ServiceProcess,
  s: { logN: number; r: number; p: number },
  tag: string,
  ref: {
    floor?: FloorResult;
    floorCores?: FloorResult;
    floorWarm?: FloorResult;
    floorPool?: FloorResult;
    ceiling?: LiveReference;
    peer?: PeerReference;
    sinkBefore: ReturnType<OtlpSink['stats']>;
    ctx: RunContext;
    /** Starts a second instance without telemetry (for auth.me with tracing off). */
    startUntraced?: () => Promise<UntracedInstance>;
  },
) {
  const url = svc.url;
  const hc = opts.hashConcurrency;
  const runId = `${Date.now().toString(36)}${ref.ctx.runIndex}`;
  const password = `Bench-${randomBytes(15).toString('base64url')}`;
  // Base memory: after start, before any load (hashing processes start on first use).
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
  const users: BenchUser[] = Array.from({ length: userCount }, (_, i) => ({
    email: `bench-${runId}-u${i}@example.com`,
    password,
  }));
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
  // (The peer's sign-in is shared by all runs: counted in the first.)
  let errorCount = 0;
  if (ref.ctx.runIndex === 0 && ref.peer?.signIn) errorCount += failures(ref.peer.signIn);
  const measured = async (name: string, w: Workload, warmupS: number) => {
    log(`${tag}: ${name}`);
    const r = await runLoad(url, w, { warmupS, measureS: T.measureS, cpuSeconds: () => treeCpuSeconds(svc.pid) });
    workloads[name] = brief(r);
    errorCount += failures(r);
    if (r.requests < 30) {
      notes.push(
        `${tag}: ${name} had only ${r.requests} answers in its ${r.window_s} s window: its figures and ratios are not reliable (machine too slow or busy for this mode)`,
      );
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
  // Access tokens for the untraced auth.me, taken before refresh rotates these sessions' refresh tokens.
  const mePairs = pairs.slice(0, C);

  let rounds: SessionRounds | undefined;
  if (want('me')) {
    const untraced = ref.startUntraced ? await ref.startUntraced() : undefined;
    try {
      rounds = await sessionCheckRounds(
        tag,
        {
          traced: untraced ? svc : undefined,
          untraced: untraced?.svc ?? svc,
          ceiling: ref.ceiling,
          peer: ref.peer?.getSession,
        },
        mePairs,
      );
    } finally {
      await untraced?.stop();
    }
    for (const r of [...rounds.traced, ...rounds.untraced, ...rounds.ceiling, ...rounds.peer]) {
      errorCount += failures(r);
    }
    await drain('auth.me');
  }
  // The figures that stand for each: the median round.
  const meOn = rounds && medianRound(rounds.traced);
  const meOff = rounds && medianRound(rounds.untraced);
  const ceilingR = rounds && medianRound(rounds.ceiling);
  const peerGetSession = rounds && medianRound(rounds.peer);
  const meR = meOn ?? meOff;
  if (meOn) workloads['auth.me'] = brief(meOn);
  if (meOff) workloads[meOn ? 'auth.me_untraced' : 'auth.me'] = brief(meOff);

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
                setupRequest: (req: autocannon.Request) => ({
                  ...req,
                  body: JSON.stringify({ refreshToken: chain.token }),
                }),
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

  // auth.me at a steady rate, alone and then during a login storm that keeps
  // every hashing process busy: PROBE_WINDOWS windows each, compared by their
  // medians (one window's p99 is a handful of answers and swings run to run).
  let idle: ProbeResult[] = [];
  let during: ProbeResult[] = [];
  let mem: ReturnType<RssSampler['stop']> | undefined;
  let memTree: ReturnType<RssSampler['stop']> | undefined;
  const medianWindow = (rs: ProbeResult[]) => [...rs].sort((a, b) => a.p99_ms - b.p99_ms)[Math.floor(rs.length / 2)]!;
  if (want('storm')) {
    const probe = (): Promise<ProbeResult> =>
      steadyProbe({
        url,
        path: '/trpc/auth.me',
        headers: { authorization: `Bearer ${probePair.accessToken}` },
        ratePerS: PROBE_RATE,
        durationS: T.probeS,
      });
    const windows = async () => {
      const out: ProbeResult[] = [];
      for (let i = 0; i < PROBE_WINDOWS; i++) out.push(await probe());
      return out;
    };
    log(`${tag}: auth.me at ${PROBE_RATE}/s alone (${PROBE_WINDOWS} x ${T.probeS} s)`);
    idle = await windows();
    await drain('auth.me@200rps_idle');
    log(`${tag}: auth.me at ${PROBE_RATE}/s during a login storm (${C} connections, ${PROBE_WINDOWS} x ${T.probeS} s)`);
    const rss = new RssSampler(svc.pid, 100);
    const rssTree = new RssSampler(svc.pid, 100, true);
    rss.start();
    rssTree.start();
    // The storm's window is the probes': its req/s is the login rate while auth.me was probed.
    const storm = startLoad(url, loginWorkload, {
      warmupS: T.stormWarmS,
      measureS: 3600,
      cpuSeconds: () => treeCpuSeconds(svc.pid),
    });
    await new Promise((r) => setTimeout(r, T.stormWarmS * 1000));
    during = await windows();
    storm.stop();
    const stormR = await storm.done;
    mem = rss.stop();
    memTree = rssTree.stop();
    for (const [name, prs] of [
      ['alone', idle],
      ['during the storm', during],
    ] as const) {
      for (const pr of prs) {
        if (pr.completed_in_s > T.probeS * 1.5) {
          notes.push(
            `${tag}: the ${PROBE_RATE}/s auth.me probe ${name} fell behind (answers took until ${pr.completed_in_s} s for a ${T.probeS} s probe): the service cannot sustain ${PROBE_RATE}/s here`,
          );
        }
      }
    }
    workloads['auth.me@200rps_idle'] = medianWindow(idle);
    workloads['auth.me@200rps_storm'] = medianWindow(during);
    workloads['auth.login_storm'] = brief(stormR);
    for (const pr of [...idle, ...during]) errorCount += pr.errors + pr.non2xx;
    errorCount += stormR.errors + stormR.non2xx;
  }

  const sinkAfter = ref.ctx.sink.stats();
  const memTarget = 150 + hc * scryptMemMiB(s);
  const p99s = (rs: ProbeResult[]) => rs.map((r) => r.p99_ms);
  const atPeerCost = sameCost(s, PEER_COST);
  const roundMedian = (a?: LoadResult[], b?: LoadResult[]) => {
    const rs = a && b ? roundRatios(a, b) : [];
    return rs.length ? round(median(rs), 3) : null;
  };
  const ratios = {
    login_vs_scrypt_floor_cores: loginR && ref.floorCores ? ratio(loginR.rps, ref.floorCores.ops_per_s) : null,
    login_vs_scrypt_floor_cores_warm: loginR && ref.floorWarm ? ratio(loginR.rps, ref.floorWarm.ops_per_s) : null,
    login_vs_scrypt_floor: loginR && ref.floor ? ratio(loginR.rps, ref.floor.ops_per_s) : null,
    register_vs_scrypt_floor: registerR && ref.floor ? ratio(registerR.rps, ref.floor.ops_per_s) : null,
    me_vs_framework_ceiling: roundMedian(rounds?.untraced, rounds?.ceiling),
    me_vs_framework_ceiling_traced: roundMedian(rounds?.traced, rounds?.ceiling),
    me_vs_better_auth: roundMedian(rounds?.untraced, rounds?.peer),
    login_vs_better_auth: atPeerCost && loginR && ref.peer?.signIn ? ratio(loginR.rps, ref.peer.signIn.rps) : null,
    refresh_vs_me: refreshR && meR ? ratio(refreshR.rps, meR.rps) : null,
    me_p99_storm_vs_idle: during.length && idle.length ? ratio(median(p99s(during)), median(p99s(idle))) : null,
    base_rss_mib: rssAtStart,
    peak_rss_mib: mem ? mem.peak_rss_mib : null,
    peak_rss_target_mib: round(memTarget, 1),
  };
  const atLeast = (v: number | null, min: number) => (v === null ? null : v >= min);
  const atMost = (v: number | null, max: number) => (v === null ? null : v <= max);
  const targetsMet = {
    login_vs_scrypt_floor_cores: atLeast(ratios.login_vs_scrypt_floor_cores, 0.9),
    register_vs_scrypt_floor: atLeast(ratios.register_vs_scrypt_floor, 0.9),
    me_vs_framework_ceiling: atLeast(ratios.me_vs_framework_ceiling, 0.5),
    me_vs_framework_ceiling_traced: atLeast(ratios.me_vs_framework_ceiling_traced, 0.35),
    me_vs_better_auth: atLeast(ratios.me_vs_better_auth, 2),
    login_vs_better_auth: atLeast(ratios.login_vs_better_auth, 1.2),
    refresh_vs_me: atLeast(ratios.refresh_vs_me, 0.4),
    me_p99_storm_vs_idle: atMost(ratios.me_p99_storm_vs_idle, 3),
    base_rss_mib: atMost(ratios.base_rss_mib, 150),
    peak_rss: memTree ? memTree.peak_rss_mib <= memTarget : null,
    zero_errors: errorCount === 0,
  };
  if (!atPeerCost && ref.peer?.signIn) {
    notes.push(
      `${tag}: login_vs_better_auth is null here: it is measured at Better Auth's own cost (logN ${PEER_COST.logN} r ${PEER_COST.r} p ${PEER_COST.p})`,
    );
  }
  return {
    scrypt: s,
    hash_concurrency: hc,
    uv_threadpool_size: opts.pool,
    scrypt_memory_mib_per_hash: scryptMemMiB(s),
    ratios,
    targets_met: targetsMet,
    errors_total: errorCount,
    spread: {
      note: `the storm ratio's windows: ${PROBE_WINDOWS} x ${T.probeS} s at ${PROBE_RATE}/s, alone and during the storm; the session checks: ${SESSION_ROUNDS} rounds of ${T.roundS} s windows, ratios taken within each round`,
      ...(rounds ? { session_check_rounds: roundsSpread(rounds) } : {}),
      ...(idle.length
        ? {
            'auth.me@200rps_idle_p99_ms': spread(p99s(idle)),
            'auth.me@200rps_idle_p50_ms': spread(idle.map((r) => r.p50_ms)),
          }
        : {}),
      ...(during.length
        ? {
            'auth.me@200rps_storm_p99_ms': spread(p99s(during)),
            'auth.me@200rps_storm_p50_ms': spread(during.map((r) => r.p50_ms)),
          }
        : {}),
    },
    references: {
      ...(ref.floorCores
        ? {
            scrypt_floor_cores: {
              ...ref.floorCores,
              note: 'crypto.scrypt, one hash per core: login_vs_scrypt_floor_cores uses this',
            },
          }
        : {}),
      ...(ref.floorWarm
        ? {
            scrypt_floor_cores_warm: {
              ...ref.floorWarm,
              note: 'crypto.scrypt, one hash per core, scrypt memory kept between hashes (glibc thresholds, one arena): login_vs_scrypt_floor_cores_warm uses this',
            },
          }
        : {}),
      ...(ref.floor
        ? {
            scrypt_floor: {
              ...ref.floor,
              note: 'crypto.scrypt at the service hash concurrency: login_vs_scrypt_floor and register_vs_scrypt_floor use this',
            },
          }
        : {}),
      ...(ref.floorPool
        ? { scrypt_floor_pool_size: { ...ref.floorPool, note: 'crypto.scrypt, one hash per pool thread' } }
        : {}),
      ...(ceilingR
        ? {
            framework_ceiling: {
              ...brief(ceilingR),
              note: `the median of ${SESSION_ROUNDS} rounds alternating with auth.me (spread.session_check_rounds)`,
            },
          }
        : {}),
      ...(ref.peer
        ? {
            better_auth: {
              version: ref.peer.version,
              scrypt: PEER_COST,
              rss_at_start_mib: ref.peer.rssAtStartMiB,
              ...(peerGetSession ? { get_session: brief(peerGetSession) } : {}),
              ...(ref.peer.signIn ? { sign_in: brief(ref.peer.signIn) } : {}),
              note: 'measured once per bench run (tracing off, rate limits and cookie cache off), shared by every run',
            },
          }
        : {}),
    },
    workloads,
    drained_s: drained,
    memory: {
      ...(mem ?? {}),
      ...(memTree ? { peak_rss_tree_mib: memTree.peak_rss_mib } : {}),
      rss_at_start_mib: rssAtStart,
      target_mib: round(memTarget, 1),
      note: 'VmRSS sampled every 100 ms over the storm: peak_rss_mib the service process, peak_rss_tree_mib with its hashing processes (the target applies to the tree)',
    },
    telemetry_sink: {
      requests: sinkAfter.requests - ref.sinkBefore.requests,
      bytes: sinkAfter.bytes - ref.sinkBefore.bytes,
      ...(opts.otlpJson
        ? {
            spans: sinkAfter.spans - ref.sinkBefore.spans,
            span_names: Object.fromEntries(
              Object.entries(sinkAfter.spanNames)
                .map(([k, v]) => [k, v - (ref.sinkBefore.spanNames[k] ?? 0)])
                .filter(([, v]) => Number(v) > 0),
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
  else if (!otel)
    notes.push(
      'dist/otel/register.js not built: the service ran WITHOUT the telemetry SDK (figures exclude tracing cost)',
    );
  if (opts.logLevel !== 'info') {
    notes.push(
      `LOG_LEVEL=${opts.logLevel}: no per-request log line (production default is info; measure with --log-level info)`,
    );
  }
  notes.push(
    'rate limits off (RATE_LIMIT_ENABLED=false) so they do not shape the result; email verification off for seeding',
  );
  notes.push(
    'embedded PostgreSQL with durable settings (fsync and synchronous_commit on), same machine as service and load',
  );
  const machine = describeMachine();
  if (machine.load_avg_at_start[0]! > 0.5) {
    notes.push(
      `machine not idle at start (load average ${machine.load_avg_at_start.join(' ')}): figures are provisional`,
    );
  }

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-bench-'));
  // As root, PostgreSQL runs as a 'postgres' user that must reach db/ inside.
  chmodSync(tmp, 0o755);
  let db: EmbeddedDatabase | undefined;
  let sink: OtlpSink | undefined;
  let ceiling: LiveReference | undefined;
  let peer: PeerReference | undefined;
  const cleanup = async () => {
    await ceiling?.stop().catch(() => undefined);
    await peer?.stop().catch(() => undefined);
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

    ceiling = await startCeiling();
    peer = await startPeerReference(db.url);
    if (!opts.peer) notes.push('--no-peer: the Better Auth peer was not measured');
    const runs = [];
    for (const [i, s] of opts.settings.entries()) {
      runs.push(await runSetting(s, { databaseUrl: db.url, sink, tmp, otel, runIndex: i }, ceiling, peer));
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
        telemetry: otel
          ? 'sdk preloaded (--import dist/otel/register.js), every request sampled, OTLP/HTTP to a local sink; auth.me_untraced: a second instance without it'
          : 'off',
        cores: CORES,
        probe_windows: PROBE_WINDOWS,
        ...(peer ? { peer: `better-auth ${peer.version}, Express, pg Pool, scrypt N 2^14 r 16 p 1` } : {}),
        db_pool_max: 10,
        service_command: `node ${otel ? '--import ./dist/otel/register.js ' : ''}dist/server/main.js`,
      },
      targets: {
        login_vs_scrypt_floor_cores: '>= 0.90',
        register_vs_scrypt_floor: '>= 0.90',
        me_vs_framework_ceiling: '>= 0.50 (tracing off)',
        me_vs_framework_ceiling_traced: '>= 0.35 (every request sampled and exported)',
        me_vs_better_auth: '>= 2.0 (tracing off on both)',
        login_vs_better_auth: ">= 1.2 (at Better Auth's own scrypt cost)",
        refresh_vs_me: '>= 0.40',
        me_p99_storm_vs_idle: `<= 3 (median of ${PROBE_WINDOWS} windows each)`,
        base_rss_mib: '<= 150',
        peak_rss_mib: '<= 150 + hash_concurrency x 128 x r x 2^logN bytes (service and hashing processes)',
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
