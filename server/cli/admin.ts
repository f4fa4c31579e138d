/**
 * The operator CLI (docs/runbook.md): `npm run admin -- <command> ...`, or
 * `node dist/server/cli/admin.js <command> ...` in a production image.
 */
import { AppError } from '../errors.js';
import { COMMANDS, commandHelp, generalHelp } from './commands.js';
import { CliError, EXIT_USAGE, safeDbMessage } from './runtime.js';

const out = (line: string) => process.stdout.write(line + '\n');
const fail = (message: string, code: number): never => {
  process.stderr.write(`secure-auth admin: ${message}\n`);
  process.exit(code);
};

async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const words = argv.filter((a) => !['--verbose', '-v', '--help', '-h'].includes(a));
  const unknownFlag = words.find((a) => a.startsWith('-') && a.length > 1);
  const [name, ...args] = words;

  if (name === undefined || name === 'help') {
    const about = args[0] ? COMMANDS.find((c) => c.name === args[0]) : undefined;
    if (args[0] && !about) fail(`unknown command "${args[0]}"\n\n${generalHelp()}`, EXIT_USAGE);
    out(about ? commandHelp(about) : generalHelp());
    // Bare `npm run admin` is a usage error; asking for help is not.
    return process.exit(name === undefined && !wantsHelp ? EXIT_USAGE : 0);
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return fail(`unknown command "${name}"\n\n${generalHelp()}`, EXIT_USAGE);
  if (wantsHelp) {
    out(commandHelp(command));
    return process.exit(0);
  }
  if (unknownFlag) return fail(`unknown option ${unknownFlag}\nusage: npm run admin -- ${command.usage}`, EXIT_USAGE);
  await command.run(args, { out, verbose });
  process.exit(0);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) return fail(err.message, err.exitCode);
  if (err instanceof AppError) return fail(`refused: ${err.message}`, 1);
  // Unexpected: the message only (no stack, no SQL with bound values).
  return fail(`failed: ${safeDbMessage(err)}`, 1);
});
