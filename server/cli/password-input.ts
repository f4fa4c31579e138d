import { CliError } from './runtime.js';

/**
 * Reads a password for the CLI without it ever appearing in argv (visible in
 * `ps` and shell history) or on screen: from the first line of stdin when it
 * is a pipe or file (`printf '%s\n' "$PW" | npm run admin -- create-superuser
 * ...`), else from a terminal prompt with echo off, asked twice.
 */

// Bounded: a password is at most 256 characters; refuse to buffer a whole file.
const MAX_LINE_BYTES = 4096;

export async function readPassword(
  stdin: NodeJS.ReadStream = process.stdin,
  prompt: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!stdin.isTTY) {
    const line = await readFirstLine(stdin);
    if (line === '') throw new CliError('no password on stdin (expected it on the first line)');
    return line;
  }
  const first = await promptHidden(stdin, prompt, 'Password');
  if (first === '') throw new CliError('no password entered');
  const second = await promptHidden(stdin, prompt, 'Repeat password');
  if (first !== second) throw new CliError('the passwords did not match');
  return first;
}

/** The first line of a piped stdin, without its line ending. */
export function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (value: string | Error) => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', onError);
      stdin.pause();
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      buf = Buffer.concat([buf, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)]);
      const nl = buf.indexOf(0x0a);
      if (nl >= 0) return done(buf.subarray(0, nl).toString('utf8').replace(/\r$/, ''));
      if (buf.length > MAX_LINE_BYTES) done(new CliError('the password line on stdin is too long'));
    };
    const onEnd = () => done(buf.toString('utf8').replace(/\r$/, ''));
    const onError = (err: Error) => done(new CliError(`cannot read stdin: ${err.message}`));
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    stdin.resume();
  });
}

/**
 * A terminal prompt without echo, by @inquirer/password: it handles cursor and
 * function keys (a hand-rolled raw-mode reader typed arrow keys into the
 * password as escape sequences). Ctrl-C cancels with exit code 130.
 */
async function promptHidden(stdin: NodeJS.ReadStream, out: NodeJS.WriteStream, label: string): Promise<string> {
  const { default: password } = await import('@inquirer/password');
  try {
    const value = await password({ message: label, mask: false }, { input: stdin, output: out });
    if (value.length > MAX_LINE_BYTES) throw new CliError('the password is too long');
    return value;
  } catch (err) {
    if ((err as { name?: string }).name === 'ExitPromptError') throw new CliError('cancelled', 130);
    throw err;
  }
}
