/**
 * The account page's script, bundled by esbuild and served inline under a
 * CSP hash. It uses only the published client in cookie mode: the refresh
 * token stays in the httpOnly cookie, the access token in memory. Every
 * value from the service is written with textContent, never as markup.
 */
import { isAuthError } from '../../../../client/src/errors.js';
import { createSession, type MfaRequired } from '../../../../client/src/session.js';
import type { BrowserTokenPair, SessionInfo } from '../../../../shared/dto.js';
import { waitInWords, weakPasswordMessage } from '../password-words.js';

const root = document.getElementById('account')!;
const minLength = Number(root.dataset.passwordMinLength) || 15;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const message = $('message');
function say(text: string, kind: 'success' | 'error' | 'notice' = 'notice'): void {
  message.textContent = text;
  message.className = kind;
  message.hidden = false;
  message.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}
function quiet(): void {
  message.hidden = true;
  message.textContent = '';
}

/** A refusal in words; unexpected errors get a generic sentence (details stay in the console). */
function explain(err: unknown): string {
  if (isAuthError(err, 'INVALID_CREDENTIALS')) return 'Wrong email or password.';
  if (isAuthError(err, 'ACCOUNT_LOCKED')) {
    return `Too many failed attempts: the account is locked. Try again in ${waitInWords(err.data.retryAfter ?? 60)}.`;
  }
  if (isAuthError(err, 'RATE_LIMITED')) return `Too many attempts. Try again in ${waitInWords(err.data.retryAfter ?? 60)}.`;
  if (isAuthError(err, 'WEAK_PASSWORD')) return weakPasswordMessage(err.data.reason, minLength);
  if (isAuthError(err, 'EMAIL_TAKEN')) return 'An account with this email already exists. Sign in instead.';
  if (isAuthError(err, 'INVALID_INPUT')) return 'Please check what you typed: a field is not valid.';
  if (isAuthError(err, 'UNAVAILABLE')) return 'The service is busy right now. Try again in a moment.';
  // Our own refusals, already in words.
  if (err instanceof Error && !('data' in err)) return err.message;
  console.error(err);
  return 'Something went wrong. Try again.';
}

const session = createSession({
  url: location.origin,
  cookie: true,
  onEnd: () => {
    show('signed-out');
    say('Your session has ended. Sign in again.');
  },
});

function show(view: 'signed-in' | 'signed-out'): void {
  $('loading').hidden = true;
  $('signed-in').hidden = view !== 'signed-in';
  $('signed-out').hidden = view !== 'signed-out';
}

function field(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement).value;
}

/** Runs a form's action with its button disabled; the form's fields are cleared on success when asked. */
function onSubmit(id: string, action: (form: HTMLFormElement) => Promise<void>, reset = true): void {
  const form = $<HTMLFormElement>(id);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const button = form.querySelector('button')!;
    button.disabled = true;
    quiet();
    action(form)
      .then(() => reset && form.reset())
      .catch((err: unknown) => say(explain(err), 'error'))
      .finally(() => {
        button.disabled = false;
      });
  });
}

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

function sessionItem(s: SessionInfo): HTMLLIElement {
  const li = document.createElement('li');
  const title = document.createElement('strong');
  title.textContent = s.userAgent || 'Unknown browser';
  li.append(title);
  if (s.current) {
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = 'This session';
    li.append(tag);
  }
  const details = document.createElement('p');
  details.className = 'hint';
  details.textContent = `IP address: ${s.ip ?? 'unknown'} · signed in ${when(s.createdAt)} · last used ${when(s.lastUsedAt)}`;
  li.append(details);
  if (!s.current) {
    const end = document.createElement('button');
    end.type = 'button';
    end.className = 'secondary';
    end.textContent = 'End this session';
    // The visible words first (what voice control users say), then which session.
    end.setAttribute('aria-label', `End this session: ${title.textContent}, ${s.ip ?? 'unknown address'}`);
    end.addEventListener('click', () => {
      end.disabled = true;
      session.client.sessions.revoke
        .mutate({ sessionId: s.id })
        .then(async () => {
          await loadSessions();
          say('The session was ended.', 'success');
        })
        .catch((err: unknown) => {
          end.disabled = false;
          say(explain(err), 'error');
        });
    });
    li.append(end);
  }
  return li;
}

async function loadSessions(): Promise<void> {
  const list = await session.client.sessions.list.query();
  list.sort((a, b) => Number(b.current) - Number(a.current) || b.lastUsedAt.localeCompare(a.lastUsedAt));
  $('sessions').replaceChildren(...list.map(sessionItem));
  $('end-others').hidden = list.length < 2;
}

async function signedIn(email: string): Promise<void> {
  $('me-email').textContent = email;
  await loadSessions();
  show('signed-in');
  $('signed-in-heading').focus();
}

/** A login waiting for its second factor (the password was right). */
let challenge: MfaRequired<BrowserTokenPair> | undefined;

onSubmit('sign-in-form', async (form) => {
  const email = field(form, 'email');
  try {
    const result = await session.login({ email, password: field(form, 'password') });
    if (result.status === 'signed_in') return await signedIn(result.tokens.user.email);
    challenge = result;
    $('sign-in-form').hidden = true;
    $('second-factor').hidden = false;
    $('mfa-code').focus();
  } catch (err) {
    if (!isAuthError(err, 'EMAIL_NOT_VERIFIED')) throw err;
    await session.client.auth.resendVerification.mutate({ email });
    say('Confirm your email first: we sent you a new link. Open it, then sign in here.', 'error');
  }
});

onSubmit('second-factor', async (form) => {
  if (!challenge) return;
  try {
    const done = await challenge.verifyCode(field(form, 'code').trim());
    challenge = undefined;
    $('second-factor').hidden = true;
    $('sign-in-form').hidden = false;
    await signedIn(done.tokens.user.email);
  } catch (err) {
    if (isAuthError(err, 'INVALID_MFA_CODE')) throw new Error('That code is not right, or was already used. Try the next one.');
    if (isAuthError(err, 'MFA_CHALLENGE_EXPIRED')) {
      challenge = undefined;
      $('second-factor').hidden = true;
      $('sign-in-form').hidden = false;
      throw new Error('That sign-in took too long or had too many wrong codes. Enter your password again.');
    }
    throw err;
  }
});

onSubmit('register-form', async (form) => {
  const email = field(form, 'email');
  const result = await session.client.auth.register.mutate({ email, password: field(form, 'password') });
  say(
    result.verificationRequired
      ? `Almost done: we sent a link to ${email}. Open it to confirm your email, then sign in.`
      : 'Your account is ready: sign in.',
    'success',
  );
});

onSubmit('forgot-form', async (form) => {
  await session.client.auth.requestPasswordReset.mutate({ email: field(form, 'email') });
  say('If an account uses that address, we sent it a link to choose a new password.', 'success');
});

onSubmit('change-password-form', async (form) => {
  await session.client.auth.changePassword.mutate({
    currentPassword: field(form, 'currentPassword'),
    newPassword: field(form, 'newPassword'),
  });
  await loadSessions();
  say('Your password was changed. Every other session was signed out.', 'success');
});

$('sign-out').addEventListener('click', () => {
  session
    .logout()
    .catch(() => undefined)
    .finally(() => {
      show('signed-out');
      say('You are signed out.', 'success');
    });
});

$('end-others').addEventListener('click', () => {
  session.client.sessions.revokeAll
    .mutate({ exceptCurrent: true })
    .then(async ({ revoked }) => {
      await loadSessions();
      say(`${revoked} other ${revoked === 1 ? 'session was' : 'sessions were'} signed out.`, 'success');
    })
    .catch((err: unknown) => say(explain(err), 'error'));
});

// A page load resumes the session the cookie holds, if any.
session
  .refresh()
  .then((pair) => signedIn(pair.user.email))
  .catch((err: unknown) => {
    show('signed-out');
    if (!isAuthError(err, 'INVALID_REFRESH_TOKEN')) say(explain(err), 'error');
  });
