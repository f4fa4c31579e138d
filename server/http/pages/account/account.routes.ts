import { Router } from 'express';
import type { Deps } from '../../../deps.js';
import { html } from '../html.js';
import { sendPage } from '../layout.js';
import { passwordPolicy } from '../reset-password.routes.js';
import { accountBundle } from './account-bundle.js';

/**
 * `GET /account`: sign in, see and end sessions, change the password. The
 * markup is static (no user data is rendered by the server); the inline
 * script fills it in through the public procedures.
 */
export function accountRoutes(deps: Deps): Router {
  const r = Router();
  const minLength = deps.config.passwordMinLength;
  const body = html`<div id="account" data-password-min-length="${minLength}">
<h1>Your account</h1>
<p id="message" hidden></p>
<p id="loading">Loading…</p>
<noscript><p class="error">This page needs JavaScript. The links in your emails work without it.</p></noscript>

<section id="signed-out" aria-labelledby="sign-in-heading" hidden>
<h2 id="sign-in-heading">Sign in</h2>
<form id="sign-in-form">
<label for="sign-in-email">Email</label>
<input id="sign-in-email" name="email" type="email" autocomplete="username" required>
<label for="sign-in-password">Password</label>
<input id="sign-in-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<form id="second-factor" hidden>
<p>Your account has two-step sign-in.</p>
<label for="mfa-code">Code from your authenticator app, or a recovery code</label>
<input id="mfa-code" name="code" type="text" autocomplete="one-time-code" spellcheck="false" required maxlength="32">
<button type="submit">Continue</button>
</form>

<h2>Create an account</h2>
<form id="register-form">
<label for="register-email">Email</label>
<input id="register-email" name="email" type="email" autocomplete="email" required>
<label for="register-password">Password</label>
<input id="register-password" name="password" type="password" autocomplete="new-password" required
 minlength="${minLength}" maxlength="256" aria-describedby="register-policy">
${passwordPolicy(minLength, 'register-policy')}
<button type="submit">Create account</button>
</form>

<h2>Forgot your password?</h2>
<form id="forgot-form">
<label for="forgot-email">Email</label>
<input id="forgot-email" name="email" type="email" autocomplete="email" required>
<button type="submit">Send me a reset link</button>
</form>
</section>

<section id="signed-in" aria-labelledby="signed-in-heading" hidden>
<h2 id="signed-in-heading" tabindex="-1">Signed in</h2>
<p>You are signed in as <strong id="me-email"></strong>.</p>
<button id="sign-out" type="button">Sign out</button>

<h2>Your sessions</h2>
<p class="hint">Every browser or app signed in to your account. End any you do not recognise.</p>
<ul id="sessions" class="sessions"></ul>
<button id="end-others" type="button" class="secondary" hidden>Sign out every other session</button>

<h2>Change your password</h2>
<form id="change-password-form">
<label for="current-password">Current password</label>
<input id="current-password" name="currentPassword" type="password" autocomplete="current-password" required>
<label for="new-password">New password</label>
<input id="new-password" name="newPassword" type="password" autocomplete="new-password" required
 minlength="${minLength}" maxlength="256" aria-describedby="change-policy">
${passwordPolicy(minLength, 'change-policy')}
<button type="submit">Change password</button>
</form>
</section>
</div>`;

  r.get('/account', async (_req, res) => {
    const script = await accountBundle();
    sendPage(res, 200, { title: 'Your account', body, script });
  });
  return r;
}
