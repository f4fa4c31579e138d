/**
 * The account page's script, bundled by esbuild and served inline under a
 * CSP hash. It uses only the published client in cookie mode: the refresh
 * token stays in the httpOnly cookie, the access token in memory. Every
 * value from the service is written with textContent, never as markup; the
 * one exception, the TOTP QR code the service draws as SVG, is parsed as
 * SVG and kept to its drawing elements before it is inserted.
 */
import {
  browserSupportsWebAuthn,
  registerPasskey,
  signInWithPasskey,
  verifyWithPasskey,
} from '../../../../client/src/browser.js';
import { isAuthError } from '../../../../client/src/errors.js';
import { createSession, type MfaRequired, type SignedIn } from '../../../../client/src/session.js';
import type { BrowserTokenPair, MfaFactorInfo, SessionInfo } from '../../../../shared/dto.js';
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
  if (isAuthError(err, 'RATE_LIMITED'))
    return `Too many attempts. Try again in ${waitInWords(err.data.retryAfter ?? 60)}.`;
  if (isAuthError(err, 'WEAK_PASSWORD')) return weakPasswordMessage(err.data.reason, minLength);
  if (isAuthError(err, 'EMAIL_TAKEN')) return 'An account with this email already exists. Sign in instead.';
  if (isAuthError(err, 'INVALID_INPUT')) return 'Please check what you typed: a field is not valid.';
  if (isAuthError(err, 'UNAVAILABLE')) return 'The service is busy right now. Try again in a moment.';
  if (isAuthError(err, 'REAUTH_REQUIRED')) return 'Enter your current password first.';
  if (isAuthError(err, 'INVALID_MFA_CODE')) return 'That code is not right, or was already used. Try the next one.';
  // The browser's WebAuthn refusals: cancelled, timed out, or no passkey for this site.
  if (err instanceof Error && /NotAllowed|Abort/.test(err.name)) {
    return 'No passkey was used: it was cancelled or timed out.';
  }
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

/** Passkey buttons appear only where the browser can use one. */
const passkeys = browserSupportsWebAuthn();
$('passkey-sign-in').hidden = !passkeys;

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
  proofInput.value = '';
  closePanels();
  await Promise.all([loadSessions(), loadFactors()]);
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
    $('mfa-passkey').hidden = !(passkeys && result.methods.includes('passkey'));
    $('mfa-code').focus();
  } catch (err) {
    if (!isAuthError(err, 'EMAIL_NOT_VERIFIED')) throw err;
    await session.client.auth.resendVerification.mutate({ email });
    say('Confirm your email first: we sent you a new link. Open it, then sign in here.', 'error');
  }
});

/** Answers the pending challenge with a code or a passkey; an expired one sends the person back to the password. */
async function finishSecondStep(answer: (c: MfaRequired<BrowserTokenPair>) => Promise<SignedIn<BrowserTokenPair>>) {
  if (!challenge) return;
  try {
    const done = await answer(challenge);
    challenge = undefined;
    $('second-factor').hidden = true;
    $('sign-in-form').hidden = false;
    await signedIn(done.tokens.user.email);
  } catch (err) {
    if (isAuthError(err, 'INVALID_MFA_CODE'))
      throw new Error('That code is not right, or was already used. Try the next one.');
    if (isAuthError(err, 'MFA_CHALLENGE_EXPIRED')) {
      challenge = undefined;
      $('second-factor').hidden = true;
      $('sign-in-form').hidden = false;
      throw new Error('That sign-in took too long or had too many wrong codes. Enter your password again.');
    }
    throw err;
  }
}

onSubmit('second-factor', (form) => finishSecondStep((c) => c.verifyCode(field(form, 'code').trim())));

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

// Second factors ---------------------------------------------------------

const KIND_WORDS: Record<MfaFactorInfo['kind'], string> = { totp: 'Authenticator app', passkey: 'Passkey' };
const proofInput = $<HTMLInputElement>('reauth-proof');
/** A TOTP enrolment waiting for its first code. */
let enrolling: string | undefined;

/**
 * The re-auth proof from the shared field: a 6-digit code or a recovery
 * code (`xxxxx-xxxxx`) as `code`, anything else as the password (passwords
 * are far longer than either).
 */
function reauth(): { currentPassword: string } | { code: string } {
  const value = proofInput.value;
  if (!value) {
    proofInput.focus();
    throw new Error('Enter your current password (or a code from your authenticator app) first.');
  }
  const compact = value.replace(/\s/g, '');
  if (/^\d{6}$/.test(compact) || /^[a-z0-9]{5}-[a-z0-9]{5}$/i.test(compact)) return { code: compact };
  return { currentPassword: value };
}

/** Runs a re-auth action from a button: disabled meanwhile, the proof cleared once used, refusals in words. */
function withProof(button: HTMLButtonElement, action: () => Promise<void>): void {
  button.disabled = true;
  quiet();
  action()
    .then(() => {
      proofInput.value = '';
    })
    .catch((err: unknown) => {
      if (isAuthError(err, 'INVALID_CREDENTIALS')) return say('That is not your current password.', 'error');
      say(explain(err), 'error');
    })
    .finally(() => {
      button.disabled = false;
    });
}

function closePanels(): void {
  enrolling = undefined;
  $('totp-enrol').hidden = true;
  $('totp-qr').replaceChildren();
  $('totp-secret').textContent = '';
  $('recovery-panel').hidden = true;
  $('recovery-codes').replaceChildren();
}

function showRecoveryCodes(codes: string[]): void {
  const items = codes.map((c) => {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = c;
    li.append(code);
    return li;
  });
  $('recovery-codes').replaceChildren(...items);
  $('recovery-panel').hidden = false;
  $('recovery-heading').focus();
}

/**
 * The service's QR code, parsed as SVG (inert: nothing in it runs) and
 * kept to drawing elements with no handler, link or style attribute, so
 * the page's CSP has nothing to refuse.
 */
function qrCode(svg: string): Element {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.localName !== 'svg' || doc.getElementsByTagName('parsererror').length > 0) {
    throw new Error('The QR code could not be shown: type the key into your app instead.');
  }
  for (const el of [root, ...Array.from(root.querySelectorAll('*'))]) {
    if (!['svg', 'g', 'path', 'rect'].includes(el.localName)) {
      el.remove();
      continue;
    }
    for (const attr of Array.from(el.attributes)) {
      if (/^on|^style$|href$/i.test(attr.name)) el.removeAttribute(attr.name);
    }
  }
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', 'QR code of the key, for your authenticator app');
  return document.importNode(root, true);
}

function factorItem(f: MfaFactorInfo): HTMLLIElement {
  const li = document.createElement('li');
  const title = document.createElement('strong');
  title.textContent = f.name;
  const details = document.createElement('p');
  details.className = 'hint';
  const kind = f.name === KIND_WORDS[f.kind] ? '' : `${KIND_WORDS[f.kind]} · `;
  details.textContent = `${kind}added ${when(f.createdAt)} · ${
    f.lastUsedAt ? `last used ${when(f.lastUsedAt)}` : 'not used yet'
  }`;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove: ${f.name} (${KIND_WORDS[f.kind]})`);
  remove.addEventListener('click', () =>
    withProof(remove, async () => {
      await session.client.mfa.remove.mutate({ factorId: f.id, ...reauth() });
      const left = await loadFactors();
      say(left ? `${f.name} was removed.` : `${f.name} was removed. Two-step sign-in is off.`, 'success');
    }),
  );
  li.append(title, details, remove);
  return li;
}

/** Lists the factors; resolves with how many there are. */
async function loadFactors(): Promise<number> {
  const { factors, recoveryCodesLeft } = await session.client.mfa.list.query();
  $('factors').replaceChildren(...factors.map(factorItem));
  $('factors').hidden = factors.length === 0;
  $('factors-status').textContent = factors.length
    ? `Two-step sign-in is on. Recovery codes left: ${recoveryCodesLeft}.`
    : 'Two-step sign-in is off: your password alone signs you in. Add an authenticator app or a passkey.';
  $('regenerate-codes').hidden = factors.length === 0;
  $('add-passkey').hidden = !passkeys;
  return factors.length;
}

$<HTMLFormElement>('factor-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const button = $<HTMLButtonElement>('add-totp');
  withProof(button, async () => {
    const { factorId, secret, qrSvg } = await session.client.mfa.totp.enroll.mutate(reauth());
    closePanels();
    enrolling = factorId;
    $('totp-secret').textContent = secret;
    $('totp-enrol').hidden = false;
    try {
      $('totp-qr').replaceChildren(qrCode(qrSvg));
    } catch (err) {
      say(explain(err), 'error');
    }
    $('totp-enrol-heading').focus();
  });
});

onSubmit('totp-confirm-form', async (form) => {
  if (!enrolling) return;
  const { recoveryCodes } = await session.client.mfa.totp.confirm.mutate({
    factorId: enrolling,
    code: field(form, 'code').replace(/\s/g, ''),
  });
  closePanels();
  await Promise.all([loadFactors(), loadSessions()]);
  say('Your authenticator app is on: signing in now asks for its code. Every other session was signed out.', 'success');
  if (recoveryCodes?.length) showRecoveryCodes(recoveryCodes);
});

$('totp-cancel').addEventListener('click', () => {
  closePanels();
  proofInput.focus();
});

$('recovery-done').addEventListener('click', () => {
  closePanels();
  $('factors-heading').focus();
});

$('regenerate-codes').addEventListener('click', (event) => {
  withProof(event.currentTarget as HTMLButtonElement, async () => {
    const { recoveryCodes } = await session.client.mfa.recoveryCodes.regenerate.mutate(reauth());
    closePanels();
    await loadFactors();
    say('New recovery codes: the old ones no longer work.', 'success');
    showRecoveryCodes(recoveryCodes);
  });
});

$('add-passkey').addEventListener('click', (event) => {
  withProof(event.currentTarget as HTMLButtonElement, async () => {
    const { recoveryCodes } = await registerPasskey(session.client, reauth());
    closePanels();
    await Promise.all([loadFactors(), loadSessions()]);
    say('Your passkey was added. Every other session was signed out.', 'success');
    if (recoveryCodes?.length) showRecoveryCodes(recoveryCodes);
  });
});

$('passkey-sign-in').addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  button.disabled = true;
  quiet();
  signInWithPasskey(session)
    .then((done) => signedIn(done.tokens.user.email))
    .catch((err: unknown) => {
      if (isAuthError(err, 'INVALID_CREDENTIALS')) {
        return say('This passkey is not known here. Sign in with your password.', 'error');
      }
      say(explain(err), 'error');
    })
    .finally(() => {
      button.disabled = false;
    });
});

$('mfa-passkey').addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  button.disabled = true;
  quiet();
  finishSecondStep((c) => verifyWithPasskey(c))
    .catch((err: unknown) => say(explain(err), 'error'))
    .finally(() => {
      button.disabled = false;
    });
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
