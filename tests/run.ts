/**
 * The test runner: sets up a real PostgreSQL (TEST_DATABASE_URL, or an
 * ephemeral embedded one), applies migrations, starts a loopback SMTP
 * server, then runs every *.test.ts suite with uvu and ends with the line
 * `N passed, N failed`.
 *
 *   npm test                      # everything
 *   npm test -- tokens lockout    # only files whose path contains a word
 */
import { readdirSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../server/db/embedded-postgres.js';
import { initOrm, migrateUp } from '../server/db/orm.js';
import { setGlobals, type TestGlobals } from './support/globals.js';
import { SmtpCapture } from './support/smtp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SUITE_DIRS = ['unit', 'db', 'api', 'protection', 'ops', 'client', 'races', 'faults', 'fuzz', 'browser'];

function findSuites(filters: string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.test.ts')) files.push(full);
    }
  };
  for (const d of SUITE_DIRS) {
    try {
      walk(path.join(here, d));
    } catch {
      /* folder not present */
    }
  }
  return filters.length ? files.filter((f) => filters.some((w) => f.includes(w))) : files;
}

// uvu prints "Total: N" / "Passed: N" / "Skipped: N"; read them back to print
// the contract's closing line.
const ANSI = /\x1b\[[0-9;]*m/g;
let captured = '';
const realWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  if (captured.length > 1_000_000) captured = captured.slice(-100_000);
  return (realWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

async function main(): Promise<void> {
  const started = Date.now();
  let db: EmbeddedDatabase | undefined;
  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (!databaseUrl) {
    db = await startEmbeddedPostgres({
      dir: mkdtempSync(path.join(os.tmpdir(), 'secure-auth-test-pg-')),
      persistent: false,
    });
    databaseUrl = db.url;
  }
  const orm = await initOrm({ clientUrl: databaseUrl });
  await migrateUp(orm);
  await orm.close(true);

  const smtp = new SmtpCapture();
  await smtp.start();
  const globals: TestGlobals = { databaseUrl, smtp, logLines: [] };
  setGlobals(globals);
  (globalThis as { __secureAuthTestGlobals?: TestGlobals }).__secureAuthTestGlobals = globals;

  const suites = findSuites(process.argv.slice(2));
  (globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1;
  const uvu = await import('uvu');
  const queue = (globalThis as unknown as { UVU_QUEUE: unknown[][] }).UVU_QUEUE;
  let idx = 0;
  for (const file of suites) {
    (globalThis as { UVU_INDEX?: number }).UVU_INDEX = idx++;
    queue.push([path.relative(here, file)]);
    await import(pathToFileURL(file).href);
  }
  await uvu.exec(false);

  await smtp.stop();
  await db?.stop();

  const plain = captured.replace(ANSI, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const failed = total - passed;
  process.stdout.write(`\nsuite time: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  // A skipped test is not a passing test, and an empty run is a failure.
  process.exit(failed > 0 || skipped > 0 || total === 0 ? 1 : 0);
}

main().catch((err: Error) => {
  process.stderr.write(`test run failed: ${err.stack ?? err.message}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
});
