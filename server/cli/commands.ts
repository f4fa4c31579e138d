import { randomUUID } from 'node:crypto';
import { emailSchema } from '../../shared/schemas.js';
import type { UserRow } from '../db/repositories/user.repository.js';
import { AppError } from '../errors.js';
import type { RequestInfo } from '../observability/security-events.js';
import type { AdminActor } from '../services/admin.service.js';
import { normaliseEmail } from '../services/email-normaliser.js';
import { runMigrations } from './migrate-command.js';
import { readPassword } from './password-input.js';
import { CliError, cliActorLabel, EXIT_USAGE, openRuntime, type CliRuntime } from './runtime.js';

/**
 * The operator commands (docs/runbook.md lists them). Each one resolves the email, calls
 * the same AdminService method the admin API calls (one implementation of
 * unlock, revoke, reset ...), and prints what it did in one or two lines.
 */

export interface CommandIo {
  out: (line: string) => void;
  verbose: boolean;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  /** Shown by `<command> --help`. */
  details: string;
  run(args: string[], io: CommandIo): Promise<void>;
}

const EXIT_CODES = 'Exit codes: 0 done, 1 refused or failed (e.g. unknown email), 2 bad usage.';

function emailArg(args: string[], usage: string): string {
  if (args.length !== 1) throw new CliError(`expected one email address\nusage: npm run admin -- ${usage}`, EXIT_USAGE);
  const parsed = emailSchema.safeParse(args[0]);
  if (!parsed.success) throw new CliError(`not an email address: ${JSON.stringify(args[0])}`, EXIT_USAGE);
  return normaliseEmail(parsed.data);
}

/** Request details for the audit trail: CLI actions have no IP. */
function cliRequest(): RequestInfo {
  return { requestId: `cli-${randomUUID()}`, ip: null, userAgent: 'secure-auth-cli' };
}

const cliActor = (): AdminActor => ({ id: null, label: cliActorLabel(), via: 'cli' });

/** Opens the runtime, runs `fn` on the user with that email, closes. */
async function withUser(
  io: CommandIo,
  email: string,
  fn: (rt: CliRuntime, user: UserRow) => Promise<void>,
): Promise<void> {
  const rt = await openRuntime({ verbose: io.verbose, note: io.out });
  try {
    const sql = rt.deps.sql();
    let user: UserRow;
    try {
      user = await rt.deps.admin.find(sql, { email });
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') throw new CliError(`no user with email ${email}`);
      throw err;
    }
    await fn(rt, user);
  } finally {
    await rt.close();
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function userCommand(
  name: string,
  summary: string,
  details: string,
  fn: (rt: CliRuntime, user: UserRow, io: CommandIo) => Promise<void>,
): Command {
  const usage = `${name} <email>`;
  return {
    name,
    usage,
    summary,
    details,
    run: async (args, io) => withUser(io, emailArg(args, usage), (rt, user) => fn(rt, user, io)),
  };
}

export const COMMANDS: Command[] = [
  {
    name: 'create-superuser',
    usage: 'create-superuser <email>',
    summary: 'create a verified superuser account',
    details: `Creates a new account with a verified email and superuser rights.
The password is read from the first line of stdin when stdin is not a
terminal, else prompted for twice without echo; it is never an argument
(arguments show up in \`ps\` and shell history). The password policy applies
(PASSWORD_MIN_LENGTH, guessability, no email or service name in it).
An email that already has an account is refused and nothing changes: use
\`promote\` to make an existing user a superuser, \`force-reset\` for a new password.

  printf '%s\\n' "$ADMIN_PASSWORD" | npm run admin -- create-superuser admin@example.com
  npm run admin -- create-superuser admin@example.com      # prompts`,
    async run(args, io) {
      const email = emailArg(args, this.usage);
      const password = await readPassword();
      const rt = await openRuntime({ verbose: io.verbose, note: io.out });
      try {
        const user = await rt.deps.admin.createSuperuser(rt.deps.sql(), cliActor(), email, password, cliRequest());
        io.out(`created superuser ${user.email} (id ${user.id}); email marked verified`);
      } catch (err) {
        if (err instanceof AppError && err.code === 'WEAK_PASSWORD') {
          throw new CliError(
            `password refused (${err.reason}): ${passwordAdvice(err.reason, rt.config.passwordMinLength)}`,
          );
        }
        if (err instanceof AppError && err.code === 'EMAIL_TAKEN') {
          throw new CliError(
            `a user with email ${email} already exists; nothing changed (use \`promote\` or \`force-reset\`)`,
          );
        }
        throw err;
      } finally {
        await rt.close();
      }
    },
  },
  userCommand(
    'unlock',
    'end a lockout now and reset the failed-login counter',
    `Clears users.locked_until and users.failed_attempts and marks the open
lockouts rows released by this operator (cli:<os user>). The lockout history
is kept, so the next lockout within 24 h still lasts twice as long.
Writes account_unlocked and admin_action security events.`,
    async (rt, user, io) => {
      const done = await rt.deps.admin.unlock(rt.deps.sql(), cliActor(), user.id, cliRequest());
      const lock = done.lockedUntil
        ? `lock cleared (was locked until ${done.lockedUntil.toISOString()})`
        : 'was not locked';
      io.out(
        `unlocked ${user.email}: ${lock}, ${plural(done.released, 'lockout')} released, ` +
          `failed attempts reset (were ${done.failedAttempts})`,
      );
    },
  ),
  userCommand(
    'promote',
    'make a user a superuser',
    `Sets users.is_superuser. The user's current access tokens are refused at
once (session_version bump); their next refresh carries the new right.`,
    async (rt, user, io) => {
      if (user.is_superuser) return io.out(`${user.email} is already a superuser; nothing changed`);
      await rt.deps.admin.setSuperuser(rt.deps.sql(), cliActor(), user.id, true, cliRequest());
      io.out(`promoted ${user.email} to superuser`);
    },
  ),
  userCommand(
    'demote',
    'take superuser rights away',
    `Clears users.is_superuser. Live access tokens carrying the right are
refused at once (session_version bump). Unlike the admin API, the CLI may
demote the last superuser (create or promote another one first).`,
    async (rt, user, io) => {
      if (!user.is_superuser) return io.out(`${user.email} is not a superuser; nothing changed`);
      await rt.deps.admin.setSuperuser(rt.deps.sql(), cliActor(), user.id, false, cliRequest());
      io.out(`demoted ${user.email}: no longer a superuser`);
    },
  ),
  userCommand(
    'disable',
    'refuse logins and end every session',
    `Sets users.is_active = false: every live access token is refused at once,
every session (refresh token) ends, and login answers INVALID_CREDENTIALS
as for a wrong password. \`enable\` undoes it (old sessions stay ended).`,
    async (rt, user, io) => {
      if (!user.is_active) return io.out(`${user.email} is already disabled; nothing changed`);
      const { revoked } = await rt.deps.admin.setActive(rt.deps.sql(), cliActor(), user.id, false, cliRequest());
      io.out(`disabled ${user.email}: logins refused, ${plural(revoked, 'session')} ended`);
    },
  ),
  userCommand(
    'enable',
    'allow a disabled user to log in again',
    'Sets users.is_active = true. Sessions ended by `disable` stay ended.',
    async (rt, user, io) => {
      if (user.is_active) return io.out(`${user.email} is already enabled; nothing changed`);
      await rt.deps.admin.setActive(rt.deps.sql(), cliActor(), user.id, true, cliRequest());
      io.out(`enabled ${user.email}: the user can log in again`);
    },
  ),
  userCommand(
    'force-reset',
    'make the password unusable, end sessions, email a reset link',
    `For a suspected compromise: the current password stops working at once
(replaced by a hash of a random secret nobody holds), every session ends,
and a "Reset your password" email with a 30-minute link is sent (a disabled
account gets no email until enabled). The CLI hands the mail to SMTP (or the
dev outbox) itself; if that fails, the running service retries it.`,
    async (rt, user, io) => {
      const { revoked, emailSent } = await rt.deps.admin.forcePasswordReset(
        rt.deps.sql(),
        cliActor(),
        user.id,
        cliRequest(),
      );
      let mail = 'no reset email (the account is disabled: enable it, then force-reset again)';
      if (emailSent) {
        const sent = await rt.deps.outbox.drain().catch(() => 0);
        mail = sent > 0 ? 'reset email sent' : 'reset email queued (the running service delivers it)';
      }
      io.out(
        `forced a password reset for ${user.email}: password unusable, ${plural(revoked, 'session')} ended, ${mail}`,
      );
    },
  ),
  userCommand(
    'revoke-sessions',
    'end every session (log out everywhere)',
    `Revokes every refresh token of the user: their access tokens are refused
at once and they must log in again. The password is unchanged.`,
    async (rt, user, io) => {
      const revoked = await rt.deps.admin.revokeSessions(rt.deps.sql(), cliActor(), user.id, cliRequest());
      io.out(`ended ${plural(revoked, 'session')} of ${user.email}`);
    },
  ),
  userCommand(
    'reset-mfa',
    'turn two-step sign-in off (remove every second factor and recovery code)',
    `For a user who lost every second factor (phone, passkey and recovery
codes) and proved who they are some other way: removes all their factors
and recovery codes, ends every session and pending sign-in challenge, and
mails them that two-step sign-in was turned off. They sign in with the
password alone afterwards and can enrol again.`,
    async (rt, user, io) => {
      const { removed, revoked } = await rt.deps.admin.resetMfa(rt.deps.sql(), cliActor(), user.id, cliRequest());
      const sent = await rt.deps.outbox.drain().catch(() => 0);
      const mail = sent > 0 ? 'notice email sent' : 'notice email queued (the running service delivers it)';
      io.out(
        `reset two-step sign-in of ${user.email}: ${plural(removed, 'factor')} removed, ${plural(revoked, 'session')} ended; ${mail}`,
      );
    },
  ),
  userCommand(
    'show',
    "print a user's account state",
    'Prints id, flags, lock state and timestamps (never the password hash).',
    async (rt, user, io) => {
      const u = await rt.deps.admin.getUser(rt.deps.sql(), cliActor(), { userId: user.id }, cliRequest());
      io.out(
        [
          `email:           ${u.email}`,
          `id:              ${u.id}`,
          `active:          ${u.isActive ? 'yes' : 'no'}`,
          `superuser:       ${u.isSuperuser ? 'yes' : 'no'}`,
          `email verified:  ${u.emailVerified ? 'yes' : 'no'}`,
          `locked until:    ${u.lockedUntil ?? '-'}`,
          `failed attempts: ${u.failedAttempts}`,
          `last login:      ${u.lastLoginAt ?? '-'}`,
          `two-step:        ${u.mfaEnabled ? 'on' : 'off'}`,
          `created:         ${u.createdAt}`,
        ].join('\n'),
      );
    },
  ),
  {
    name: 'migrate',
    usage: 'migrate',
    summary: 'apply pending database migrations (same as npm run migrate)',
    details: `Applies every pending migration in one transaction and prints each name.
Concurrent runs wait for each other (PostgreSQL advisory lock).`,
    async run(args, io) {
      if (args.length > 0) throw new CliError('migrate takes no arguments', EXIT_USAGE);
      await runMigrations(io.out);
    },
  },
];

function passwordAdvice(reason: string | undefined, minLength: number): string {
  switch (reason) {
    case 'too_short':
      return `use at least ${minLength} characters`;
    case 'too_long':
      return 'use at most 256 characters';
    case 'contains_email':
      return 'it must not contain the email address';
    case 'contains_service_name':
      return 'it must not contain the service name';
    default:
      return 'it is too easy to guess; a passphrase of several unrelated words works';
  }
}

export function commandHelp(c: Command): string {
  return `Usage: npm run admin -- ${c.usage}\n\n${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.\n\n${c.details}\n\nDatabase: DATABASE_URL; outside production without it, the embedded database of npm start
(.data/database-url), else one started for this command. --verbose also prints log lines (stderr).
${EXIT_CODES}`;
}

export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return `Usage: npm run admin -- <command> [arguments] [--verbose]

Operator commands for secure-auth. Each prints what it did, writes an
admin_action security event naming the operator (cli:<os user>) and the user,
and exits non-zero with a message on failure.

Commands:
${COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`).join('\n')}

\`npm run admin -- <command> --help\` describes one command.
${EXIT_CODES}`;
}
