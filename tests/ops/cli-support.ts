import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testGlobals } from '../support/globals.js';
import { rememberSecret } from '../support/secrets.js';
import { baseTestEnv } from '../support/service.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment an operator would have: the service's settings and its database. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing from the runner's own environment may pick another database.
  delete env.DATABASE_URL;
  delete env.TEST_DATABASE_URL;
  return { ...env, ...baseTestEnv(), DATABASE_URL: testGlobals().databaseUrl, ...extra };
}

/** Runs a command to completion, feeding `stdin` (closed after) and collecting output. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 90_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      // What the CLI printed joins the run's secret scan; so does what it was fed.
      testGlobals().logLines.push(...(stdout + stderr).split('\n').filter(Boolean));
      rememberSecret(...(opts.stdin ?? '').split('\n'));
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** `npm run admin -- <args>` without npm's own start-up: the same entry point through tsx. */
export function admin(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<RunResult> {
  return run(process.execPath, ['--import', 'tsx', 'server/cli/admin.ts', ...args], opts);
}
