/**
 * Micro-benchmark: how much a login storm delays the event loop, and what
 * thread priority would change. A stand-in for `auth.me` (0.5 ms of
 * synchronous work every 5 ms) runs on the main thread while `concurrency`
 * scrypt hashes run continuously:
 *   - idle:      no hashes (the baseline)
 *   - uv-pool:   crypto.scrypt on the libuv pool, as the service hashes today
 *   - workers:   crypto.scryptSync in worker threads at the same priority
 *   - workers+10: the same, each worker at nice +10 (setpriority on its own
 *                thread id), so the event loop wins the CPU when both want it
 * Prints, per mode, the stand-in's delay p50/p99 (ms) and hashes/s.
 *
 *   npx tsx bench/micro/loop-vs-hashes.ts [logN=17] [r=8] [concurrency=3] [seconds=5]
 * Linux only (nice per thread via /proc/thread-self).
 */
import { randomBytes, scrypt } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const [logN = 17, r = 8, concurrency = 3, seconds = 5] = process.argv.slice(2).map(Number);
const params = { N: 2 ** logN, r, p: 1, maxmem: 2 ** 31 - 1 };

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { randomBytes, scryptSync } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
if (workerData.nice) {
  const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  os.setPriority(tid, workerData.nice);
}
let stop = false;
parentPort.on('message', () => { stop = true; });
(async () => {
  let n = 0;
  while (!stop) {
    scryptSync('password', randomBytes(32), 64, workerData.params);
    n++;
    await new Promise((r) => setImmediate(r));
  }
  parentPort.postMessage(n);
})();
`;

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0;
}

/** The stand-in request: due every 5 ms, 0.5 ms of work; records how late each one ran. */
async function probe(ms: number): Promise<{ p50: number; p99: number }> {
  const delays: number[] = [];
  const start = performance.now();
  let next = start;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next <= now) {
        delays.push(now - next);
        const until = performance.now() + 0.5;
        while (performance.now() < until) {
          /* 0.5 ms of CPU, like one auth.me */
        }
        next += 5;
      }
      if (now - start < ms) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  delays.sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(delays, 0.5) * 100) / 100,
    p99: Math.round(percentile(delays, 0.99) * 100) / 100,
  };
}

async function withUvPool(ms: number) {
  let stop = false;
  let n = 0;
  const lane = async () => {
    while (!stop) {
      await new Promise<void>((res, rej) =>
        scrypt('password', randomBytes(32), 64, params, (e) => (e ? rej(e) : res())),
      );
      n++;
    }
  };
  const lanes = Array.from({ length: concurrency }, lane);
  const result = await probe(ms);
  stop = true;
  await Promise.all(lanes);
  return { ...result, hashes_per_s: Math.round((n / (ms / 1000)) * 100) / 100 };
}

async function withWorkers(ms: number, nice: number) {
  const workers = Array.from(
    { length: concurrency },
    () => new Worker(WORKER, { eval: true, workerData: { params, nice } }),
  );
  await new Promise((r) => setTimeout(r, 200));
  const result = await probe(ms);
  const counts = await Promise.all(
    workers.map(
      (w) =>
        new Promise<number>((res) => {
          w.once('message', (n: number) => res(n));
          w.postMessage('stop');
        }),
    ),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  const n = counts.reduce((a, b) => a + b, 0);
  return { ...result, hashes_per_s: Math.round((n / (ms / 1000 + 0.2)) * 100) / 100 };
}

const ms = seconds * 1000;
const out = {
  scrypt: { logN, r, p: 1 },
  concurrency,
  uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE) || 4,
  idle: await probe(ms),
  'uv-pool': await withUvPool(ms),
  workers: await withWorkers(ms, 0),
  'workers+10': await withWorkers(ms, 10),
};
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
