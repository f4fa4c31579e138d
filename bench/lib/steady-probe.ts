import http from 'node:http';
import { round, Samples, type LatencySummary } from './stats.js';

/**
 * An open-loop probe: one request every 1000/rate ms on a fixed schedule,
 * whatever the answers do (autocannon's rate mode sends each second's quota
 * in a burst, which measures queueing it causes itself). Keep-alive sockets;
 * a new one opens whenever all are busy, so a slow answer never delays the
 * next send. Latency runs from the actual send to the end of the body; the
 * probe's own lag behind schedule is reported separately.
 */
export interface ProbeOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  ratePerS: number;
  durationS: number;
}

export interface ProbeResult extends LatencySummary {
  rate_target: number;
  sent: number;
  /** Rate actually sent (below the target only if the runner itself lagged). */
  send_rate: number;
  /** Seconds from the first send until the last answer (well above duration = the service fell behind). */
  completed_in_s: number;
  errors: number;
  /** Error messages seen, with counts (timeouts, resets). */
  error_kinds?: Record<string, number>;
  non2xx: number;
  schedule_lag_p99_ms: number;
  sockets: number;
}

export async function steadyProbe(o: ProbeOptions): Promise<ProbeResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const target = new URL(o.path, o.url);
  const latencies = new Samples();
  const lag = new Samples();
  let sent = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  let non2xx = 0;
  let outstanding = 0;
  let sockets = 0;
  const intervalMs = 1000 / o.ratePerS;
  const total = Math.round(o.ratePerS * o.durationS);
  const start = performance.now();
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((r) => (allDone = r));

  const send = (scheduledAt: number) => {
    const sentAt = performance.now();
    lag.add(sentAt - scheduledAt);
    outstanding++;
    const req = http.request(target, { method: 'GET', agent, headers: o.headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) latencies.add(performance.now() - sentAt);
        else non2xx++;
        settle();
      });
    });
    req.on('socket', (s) => {
      if (!(s as { __probe?: boolean }).__probe) {
        (s as { __probe?: boolean }).__probe = true;
        sockets++;
      }
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const kind = err.code ?? err.message;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      errors++;
      settle();
    });
    req.end();
  };
  let settled = false;
  const settle = () => {
    outstanding--;
    if (sent === total && outstanding === 0 && !settled) {
      settled = true;
      allDone();
    }
  };

  // A 1 ms tick sends whatever is due, so timer jitter never thins the rate.
  let lastSendAt = start;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
      while (sent < due) send(start + sent++ * intervalMs);
      lastSendAt = performance.now();
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  if (outstanding > 0) await finished;
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    rate_target: o.ratePerS,
    sent,
    send_rate: round(sent / Math.max(0.001, (lastSendAt - start) / 1000 + intervalMs / 1000), 1),
    completed_in_s: round(elapsed),
    errors,
    ...(errors ? { error_kinds: errorKinds } : {}),
    non2xx,
    schedule_lag_p99_ms: lag.summary().p99_ms,
    sockets,
    ...latencies.summary(),
  };
}
