import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, closeSync } from 'node:fs';
import path from 'node:path';

/**
 * The service as production runs it: built JavaScript under plain `node`,
 * the telemetry SDK preloaded with --import, configuration from the
 * environment only. Its stdout (JSON logs) goes to /dev/null: the service
 * pays for producing every line, the runner pays nothing for reading them.
 */
export interface ServiceOptions {
  repoRoot: string;
  /** Working directory (no stray .env is read; DATA_DIR lives here). */
  cwd: string;
  env: Record<string, string>;
  otel: boolean;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

export interface ServiceProcess {
  url: string;
  pid: number;
  args: string[];
  stderrTail(): string;
  stop(): Promise<number | null>;
}

export async function startService(opts: ServiceOptions): Promise<ServiceProcess> {
  const main = path.join(opts.repoRoot, 'dist/server/main.js');
  const register = path.join(opts.repoRoot, 'dist/otel/register.js');
  const args = [...(opts.nodeArgs ?? []), ...(opts.otel ? ['--import', register] : []), main];
  const devNull = openSync('/dev/null', 'w');
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', devNull, 'pipe'],
  });
  closeSync(devNull);
  let tail = '';
  child.stderr!.on('data', (c: Buffer) => (tail = (tail + c.toString('utf8')).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://${opts.env.HOST}:${opts.env.PORT}`;

  // Ready when /health answers 200 (a real database round trip).
  const deadline = Date.now() + 60_000;
  let ready = false;
  while (!ready && Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      ready = res.status === 200;
      await res.arrayBuffer();
    } catch {
      /* not listening yet */
    }
    if (!ready) await new Promise((r) => setTimeout(r, 200));
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`service did not become healthy: ${tail.trim() || `exit ${child.exitCode}`}`);
  }
  return {
    url,
    pid: child.pid!,
    args,
    stderrTail: () => tail,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export function otelRegisterBuilt(repoRoot: string): boolean {
  return existsSync(path.join(repoRoot, 'dist/otel/register.js'));
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process (its hashing processes), from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/**
 * Samples a process's resident memory every `everyMs` (Linux /proc); with
 * `tree`, the sum over the process and its direct children.
 */
export class RssSampler {
  private timer?: NodeJS.Timeout;
  private peakKiB = 0;
  private samples = 0;
  constructor(
    private readonly pid: number,
    private readonly everyMs = 100,
    private readonly tree = false,
  ) {}

  private read(field: 'VmRSS' | 'VmHWM'): number {
    return statusField(this.pid, field);
  }

  private rssNow(): number {
    const own = statusField(this.pid, 'VmRSS');
    return this.tree ? childPids(this.pid).reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), own) : own;
  }

  start(): void {
    const sample = () => {
      this.peakKiB = Math.max(this.peakKiB, this.rssNow());
      this.samples++;
    };
    sample();
    this.timer = setInterval(sample, this.everyMs);
  }

  stop(): { peak_rss_mib: number; samples: number; hwm_since_start_mib: number; rss_now_mib: number } {
    if (this.timer) clearInterval(this.timer);
    const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
    return {
      peak_rss_mib: mib(this.peakKiB),
      samples: this.samples,
      hwm_since_start_mib: mib(this.read('VmHWM')),
      rss_now_mib: mib(this.read('VmRSS')),
    };
  }
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of a process and its children: the live ones (the service's
 * hashing processes) and those already reaped (cutime, cstime).
 */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime
  } catch {
    return total;
  }
  for (const child of childPids(pid)) total += cpuSeconds(child);
  return total;
}

/**
 * Waits until the service has finished work a closed-loop run left behind.
 * autocannon drops its connections when time is up, but the requests it had
 * sent (queued hashes, a password-policy backlog) still run and would slow
 * the next workload. Idle = at most 20 ms of CPU over 400 ms (/proc counts
 * in 10 ms ticks), its hashing processes included. Returns the seconds waited.
 */
export async function waitIdle(pid: number, maxMs = 60_000): Promise<number> {
  const started = performance.now();
  const history: Array<[number, number]> = [[started, treeCpuSeconds(pid)]];
  while (performance.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = performance.now();
    history.push([now, treeCpuSeconds(pid)]);
    while (history.length > 1 && now - history[1]![0] >= 400) history.shift();
    const [t, cpu] = history[0]!;
    if (now - t >= 400 && history[history.length - 1]![1] - cpu <= 0.02) {
      return Math.round(performance.now() - started) / 1000;
    }
  }
  const [t, cpu] = history[0]!;
  const busy = (history[history.length - 1]![1] - cpu) / ((performance.now() - t) / 1000);
  process.stderr.write(
    `[bench] service still busy after ${maxMs / 1000} s (${Math.round(busy * 100)}% of a core); going on\n`,
  );
  return Math.round(performance.now() - started) / 1000;
}

export function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : 0;
  } catch {
    return 0;
  }
}
