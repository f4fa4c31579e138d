/** The messages the service sends (docs/runbook.md, email). Plain text: nothing to render, nothing to inject. */

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** A link the message carries (logged at debug level by the file outbox only). */
  link?: string;
}

export type MailTemplate =
  | { kind: 'verify_email'; to: string; link: string }
  | { kind: 'reset_password'; to: string; link: string }
  | { kind: 'signup_attempt'; to: string; resetLink: string }
  | { kind: 'account_locked'; to: string; minutes: number }
  | { kind: 'password_changed'; to: string }
  | { kind: 'mfa_enabled'; to: string }
  | { kind: 'mfa_disabled'; to: string; byOperator: boolean }
  | { kind: 'recovery_code_used'; to: string; left: number };

export function render(t: MailTemplate): MailMessage {
  switch (t.kind) {
    case 'verify_email':
      return {
        to: t.to,
        subject: 'Verify your email',
        link: t.link,
        text: `Welcome to secure-auth.\n\nConfirm your email address by opening this link within 24 hours:\n\n${t.link}\n\nIf you did not sign up, ignore this message.\n`,
      };
    case 'reset_password':
      return {
        to: t.to,
        subject: 'Reset your password',
        link: t.link,
        text: `Someone asked to reset the password of your secure-auth account.\n\nTo choose a new password, open this link within 30 minutes:\n\n${t.link}\n\nIf it was not you, ignore this message; your password is unchanged.\n`,
      };
    case 'signup_attempt':
      // No verification link: this mail must not let a third party's sign-up
      // attempt verify or take over anything.
      return {
        to: t.to,
        subject: 'Sign-up attempt with your email',
        text: `Someone tried to create a secure-auth account with this email address, which already has an account.\n\nIf it was you, sign in instead. If you forgot your password, you can reset it at:\n\n${t.resetLink}\n\nIf it was not you, no action is needed.\n`,
      };
    case 'account_locked':
      return {
        to: t.to,
        subject: 'Your account was locked',
        text: `Your secure-auth account was locked for ${t.minutes} minute${t.minutes === 1 ? '' : 's'} after several failed sign-in attempts.\n\nIf these attempts were not yours, consider resetting your password once the lock ends.\n`,
      };
    case 'password_changed':
      return {
        to: t.to,
        subject: 'Your password was changed',
        text: `The password of your secure-auth account was changed and all other sessions were signed out.\n\nIf this was not you, reset your password at once and contact support.\n`,
      };
    case 'mfa_enabled':
      return {
        to: t.to,
        subject: 'Two-step sign-in was turned on',
        text: `Two-step sign-in was turned on for your secure-auth account: signing in now needs your password and a second factor. Every other session was signed out.\n\nKeep your recovery codes somewhere safe. If this was not you, reset your password at once and contact support.\n`,
      };
    case 'mfa_disabled':
      return {
        to: t.to,
        subject: 'Two-step sign-in was turned off',
        text: `Two-step sign-in was turned off for your secure-auth account${t.byOperator ? ' by an administrator, at your request or after a recovery' : ''}: signing in now needs only your password.\n\nIf this was not you, reset your password at once and contact support.\n`,
      };
    case 'recovery_code_used':
      return {
        to: t.to,
        subject: 'A recovery code was used',
        text: `One of the recovery codes of your secure-auth account was just used. ${t.left} unused code${t.left === 1 ? '' : 's'} left; each works once.\n\nIf this was not you, someone has your password and a recovery code: reset your password and regenerate your recovery codes at once.\n`,
      };
  }
}
