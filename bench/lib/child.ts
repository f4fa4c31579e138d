import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Reference measurements run in child processes of their own, so they get a
 * libuv pool and an event loop that nothing else in the runner shares.
 * They are TypeScript, loaded with tsx's hook (costs start-up time only).
 */

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
}

function start(script: string, args: string[], opts: ChildOptions): ChildProcess {
  return spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a script that prints one JSON object as its last stdout line and exits. */
export function runJsonChild<T>(script: string, args: string[], opts: ChildOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = start(script, args, opts);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

/** Starts a server script that prints `{"port":N}` once listening; kill() stops it. */
export async function startServerChild(
  script: string,
  args: string[],
  opts: ChildOptions = {},
): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const child = start(script, args, opts);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        reject(new Error(`${script}: unexpected output ${line}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${err.trim()}`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
