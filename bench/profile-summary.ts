/**
 * Where the service's main-thread CPU went, from a V8 .cpuprofile
 * (`npm run bench -- --profile` writes them to .bench/profiles/).
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [from-to]
 *   e.g. ... CPU.*.cpuprofile 30 40-50   (only seconds 40 to 50 of the profile)
 *
 * Prints a per-second timeline of main-thread busy time (to find a
 * workload's window), then self time by package (node_modules/<name>, node: internals, the
 * project's own files) and the top functions by self time. Only the main
 * thread is profiled: scrypt on the libuv pool shows up as idle time here.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, windowArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top] [from-to seconds]\n');
  process.exit(2);
}
const top = Number(topArg) || 25;
const [fromS, toS] = (windowArg ?? '').split('-').map(Number);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));

// Per-second busy share, and self time per node inside the chosen window.
const busyPerSecond: number[] = [];
const selfUs = new Map<number, number>();
let t = 0;
let windowUs = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  const second = Math.floor(t / 1e6);
  if (!idleIds.has(id)) busyPerSecond[second] = (busyPerSecond[second] ?? 0) + dt;
  const inWindow = windowArg === undefined || (t >= (fromS ?? 0) * 1e6 && t < (toS ?? Infinity) * 1e6);
  if (inWindow) {
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    windowUs += dt;
  }
});
const totalUs = windowUs || profile.endTime - profile.startTime;
process.stdout.write('main-thread busy % per second: ');
process.stdout.write(Array.from(busyPerSecond, (us, sec) => `${sec}:${Math.round((us ?? 0) / 1e4)}`).join(' ') + '\n');

function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node: internals';
  const own = /\/(server|shared|otel|dist\/server|dist\/shared|dist\/otel)\/(.*)$/.exec(url);
  return own ? `project ${own[1]!.replace('dist/', '')}/${own[2]!.split('/')[0]}` : url;
}

const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const { functionName, url, lineNumber } = n.callFrame;
  const pkg = packageOf(url, functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  const key = `${functionName || '(anonymous)'}  ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|server|shared)\//, '$1/')}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}

const pct = (us: number) => ((us / totalUs) * 100).toFixed(1).padStart(5) + '%';
const ms = (us: number) => (us / 1000).toFixed(0).padStart(7) + ' ms';
process.stdout.write(
  `\nprofile ${file}: ${(totalUs / 1e6).toFixed(1)} s of the main thread${windowArg ? ` (seconds ${windowArg})` : ''}\n\nself time by package\n`,
);
for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${pct(v)} ${ms(v)}  ${k}\n`);
}
process.stdout.write(`\ntop ${top} functions by self time\n`);
for (const [k, v] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${pct(v)} ${ms(v)}  ${k}\n`);
}
