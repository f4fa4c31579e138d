import autocannon from 'autocannon';
import { round, Samples, type LatencySummary } from './stats.js';

/**
 * Closed-loop load with autocannon's programmatic API: `connections`
 * keep-alive connections, each sending its next request when the previous
 * answer arrives.
 *
 * One autocannon run per workload: a warm-up, then the measured window,
 * on the same connections. Only answers that arrive inside the window count
 * towards req/s and latency, so the window sees a steady state: the hash
 * queue is already full when it opens (a login at 16 connections waits for
 * several hashes ahead of it), and no request orphaned by a previous run is
 * still being served inside it. Errors and non-2xx count over the whole run.
 * Latencies come from autocannon's per-response event at full precision
 * (its own histogram rounds to whole milliseconds).
 */
export interface Workload {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  connections: number;
  headers?: Record<string, string>;
  body?: string;
  /** Per-connection setup (index 0..connections-1), e.g. its own token or user. */
  setupClient?: (client: autocannon.Client, index: number) => void;
  /** Per-request rewrite, e.g. a unique email. */
  setupRequest?: (req: autocannon.Request) => autocannon.Request;
  onResponse?: (status: number, body: string) => void;
  timeoutS?: number;
}

export interface Window {
  warmupS: number;
  measureS: number;
  /** CPU seconds used so far by the process under load; gives CPU per request over the window. */
  cpuSeconds?: () => number;
}

export interface LoadResult extends LatencySummary {
  /** Answers (any status) that arrived inside the measured window. */
  requests: number;
  rps: number;
  window_s: number;
  warmup_s: number;
  /** Whole run, warm-up included. */
  total_requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statuses: Record<string, number>;
  /** CPU (all threads) the process under load spent per answer in the window. */
  cpu_ms_per_request?: number;
  /** Its average CPU use over the window, in cores. */
  cpu_cores?: number;
}

export interface RunningLoad {
  /** Ends the run now (for open-ended runs such as the storm). */
  stop(): void;
  done: Promise<LoadResult>;
}

export function startLoad(url: string, w: Workload, win: Window): RunningLoad {
  const latencies = new Samples();
  const statuses: Record<string, number> = {};
  let inWindow = 0;
  let total = 0;
  let clientIndex = 0;
  const started = performance.now();
  const windowStart = started + win.warmupS * 1000;
  let windowEnd = windowStart + win.measureS * 1000;
  let finish: (err: Error | null, r?: autocannon.Result) => void = () => undefined;
  // CPU at the window's edges (the window may be cut short by stop()).
  let cpuAtStart: number | undefined;
  let cpuAtEnd: number | undefined;
  const cpuTimers: NodeJS.Timeout[] = [];
  if (win.cpuSeconds) {
    cpuTimers.push(setTimeout(() => (cpuAtStart = win.cpuSeconds!()), win.warmupS * 1000));
    cpuTimers.push(setTimeout(() => (cpuAtEnd ??= win.cpuSeconds!()), (win.warmupS + win.measureS) * 1000));
  }
  const instance = autocannon(
    {
      url,
      connections: w.connections,
      pipelining: 1,
      timeout: w.timeoutS ?? 30,
      // A little past the window, so the timer's granularity never shortens it.
      duration: win.warmupS + win.measureS + 0.25,
      requests: [
        {
          method: w.method,
          path: w.path,
          headers: { ...(w.body !== undefined ? { 'content-type': 'application/json' } : {}), ...w.headers },
          ...(w.body !== undefined ? { body: w.body } : {}),
          ...(w.setupRequest ? { setupRequest: w.setupRequest } : {}),
          ...(w.onResponse ? { onResponse: w.onResponse } : {}),
        },
      ],
      ...(w.setupClient ? { setupClient: (client: autocannon.Client) => w.setupClient!(client, clientIndex++) } : {}),
    },
    (err, r) => finish(err, r),
  );
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    total++;
    statuses[status] = (statuses[status] ?? 0) + 1;
    const now = performance.now();
    if (now < windowStart || now > windowEnd) return;
    inWindow++;
    if (status >= 200 && status < 300) latencies.add(responseTime);
  });
  const done = new Promise<LoadResult>((resolve, reject) => {
    finish = (err, r) => {
      if (err || !r) return reject(err ?? new Error('autocannon gave no result'));
      const windowS = Math.max(0.001, (Math.min(windowEnd, performance.now()) - windowStart) / 1000);
      cpuTimers.forEach(clearTimeout);
      const cpu = cpuAtStart !== undefined && cpuAtEnd !== undefined ? cpuAtEnd - cpuAtStart : undefined;
      resolve({
        requests: inWindow,
        rps: round(inWindow / windowS, 1),
        window_s: round(windowS),
        warmup_s: win.warmupS,
        total_requests: total,
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        statuses,
        ...latencies.summary(),
        ...(cpu !== undefined && inWindow > 0
          ? { cpu_ms_per_request: round((cpu * 1000) / inWindow, 3), cpu_cores: round(cpu / windowS, 2) }
          : {}),
      });
    };
  });
  return {
    stop: () => {
      windowEnd = Math.min(windowEnd, performance.now());
      if (win.cpuSeconds && cpuAtStart !== undefined) cpuAtEnd ??= win.cpuSeconds();
      instance.stop();
    },
    done,
  };
}

export function runLoad(url: string, w: Workload, win: Window): Promise<LoadResult> {
  return startLoad(url, w, win).done;
}
