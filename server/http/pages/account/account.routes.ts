import { Router } from 'express';
import type { PageDeps } from '../page-deps.js';
import { html } from '../html.js';
import { sendPage } from '../layout.js';
import { passwordPolicy } from '../reset-password.routes.js';
import { accountBundle } from './account-bundle.js';

/**
 * `GET /account`: sign in (password then code or passkey, or passwordless
 * with a passkey), see and end sessions, add and remove second factors,
 * make new recovery codes, change the password. The markup is static (no
 * user data is rendered by the server); the inline script fills it in
 * through the public procedures.
 */
export function accountRoutes(deps: PageDeps): Router {
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
<button id="passkey-sign-in" type="button" class="secondary" hidden>Sign in with a passkey</button>
<form id="second-factor" hidden>
<p>Your account has two-step sign-in.</p>
<label for="mfa-code">Code from your authenticator app, or a recovery code</label>
<input id="mfa-code" name="code" type="text" autocomplete="one-time-code" spellcheck="false" required maxlength="32">
<button type="submit">Continue</button>
<button id="mfa-passkey" type="button" class="secondary" hidden>Use a passkey instead</button>
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

<h2 id="factors-heading">Two-step sign-in</h2>
<p id="factors-status"></p>
<ul id="factors" class="sessions" aria-labelledby="factors-heading"></ul>
<form id="factor-form">
<label for="reauth-proof">Your current password, or a code from your authenticator app</label>
<input id="reauth-proof" name="proof" type="password" autocomplete="current-password" spellcheck="false"
 maxlength="256" aria-describedby="reauth-hint">
<p id="reauth-hint" class="hint">Needed to add or remove a way to sign in, and to make new recovery codes.</p>
<div class="actions">
<button id="add-totp" type="submit">Add an authenticator app</button>
<button id="add-passkey" type="button" class="secondary" hidden>Add a passkey</button>
<button id="regenerate-codes" type="button" class="secondary" hidden>Make new recovery codes</button>
</div>
</form>

<div id="totp-enrol" class="panel" hidden>
<h3 id="totp-enrol-heading" tabindex="-1">Add your authenticator app</h3>
<p>Scan this QR code with the app, or type the key into it.</p>
<div id="totp-qr" class="qr"></div>
<p>Key: <code id="totp-secret" class="secret"></code></p>
<form id="totp-confirm-form">
<label for="totp-code">The 6-digit code the app shows now</label>
<input id="totp-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" spellcheck="false"
 required maxlength="10">
<div class="actions">
<button type="submit">Turn on</button>
<button id="totp-cancel" type="button" class="secondary">Cancel</button>
</div>
</form>
</div>

<div id="recovery-panel" class="panel" hidden>
<h3 id="recovery-heading" tabindex="-1">Your recovery codes</h3>
<p>Each code signs you in once if you lose your app or passkey. Save them somewhere safe now:
they are not shown again.</p>
<ol id="recovery-codes" class="codes"></ol>
<button id="recovery-done" type="button">I have saved them</button>
</div>

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
