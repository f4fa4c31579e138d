/**
 * Reference: the scrypt floor. Node's crypto.scrypt on the libuv pool at the
 * service's exact parameters, `concurrency` hashes kept in flight, in a
 * process of its own with the same UV_THREADPOOL_SIZE as the service. No
 * login can beat this rate: it is the hash alone, with nothing around it.
 *
 *   node --import tsx bench/references/scrypt-floor.ts <logN> <r> <p> <durationS> <warmupS> <concurrency>...
 * prints {"results":[{concurrency, ops, duration_s, ops_per_s, mean_ms}]}.
 */
import { randomBytes, scrypt } from 'node:crypto';

const [logN, r, p, durationS, warmupS, ...levels] = process.argv.slice(2).map(Number);
if (!logN || !r || !p || !durationS || warmupS === undefined || levels.length === 0) {
  process.stderr.write('usage: scrypt-floor.ts logN r p durationS warmupS concurrency...\n');
  process.exit(2);
}
const N = 2 ** logN;
// Same ceiling scrypt-kdf passes; the real need is 128 * r * N * p bytes.
const maxmem = 2 ** 31 - 1;
const password = 'correct horse battery staple, twice over';

function hashOnce(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // 64-byte key and a 32-byte salt, as scrypt-kdf derives them.
    scrypt(password, randomBytes(32), 64, { N, r, p, maxmem }, (err) => {
      if (err) reject(err);
      else resolve(performance.now() - started);
    });
  });
}

async function measure(concurrency: number, seconds: number) {
  const until = performance.now() + seconds * 1000;
  let ops = 0;
  let busy = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  // Each lane starts its next hash as soon as the last one ends, so exactly
  // `concurrency` hashes are in flight; hashes that started before the
  // deadline are counted, and the elapsed time runs to the last one's end.
  const lane = async () => {
    while (performance.now() < until) {
      busy += await hashOnce();
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    concurrency,
    ops,
    duration_s: Math.round(elapsed * 100) / 100,
    ops_per_s: Math.round((ops / elapsed) * 100) / 100,
    mean_ms: Math.round((busy / Math.max(1, ops)) * 10) / 10,
    // CPU of all threads (the hashes run on the libuv pool) per hash.
    cpu_ms_per_op: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, ops)) * 10) / 10,
  };
}

const results = [];
for (const c of levels) {
  if (warmupS > 0) await measure(c, warmupS);
  results.push(await measure(c, durationS));
}
process.stdout.write(
  JSON.stringify({ uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE) || 4, results }) + '\n',
);
