import { Router, type Request, type Response } from 'express';
import type { PageDeps } from './page-deps.js';
import { AppError } from '../../errors.js';
import { html, type SafeHtml } from './html.js';
import { sendPage } from './layout.js';
import { consumeRateLimit, requestInfo } from './page-guards.js';
import { LINK_NO_LONGER_VALID, refusalMessage } from './refusals.js';
import { tokenOf } from './verify-email.routes.js';

const TITLE = 'Choose a new password';

/** The password policy in words, shown next to every new-password field. */
export function passwordPolicy(minLength: number, id = 'password-policy'): SafeHtml {
  return html`<div id="${id}" class="hint">
<p>Your password must:</p>
<ul>
<li>be at least ${minLength} characters long (at most 256); spaces and any characters are welcome;</li>
<li>be hard to guess: several unrelated words make a good password, common words or patterns alone do not;</li>
<li>not contain the part of your email address before the @, nor the name of this service.</li>
</ul>
</div>`;
}

function form(deps: PageDeps, token: string, error?: string): SafeHtml {
  const invalid = error ? 'true' : 'false';
  return html`<h1>${TITLE}</h1>
${error ? html`<p class="error" role="alert" id="reset-error">${error}</p>` : ''}
<p>Every session of your account is signed out when the new password is set.</p>
<form method="post" action="/reset-password">
<input type="hidden" name="token" value="${token}">
<label for="new-password">New password</label>
<input id="new-password" name="newPassword" type="password" autocomplete="new-password" required
 minlength="${deps.config.passwordMinLength}" maxlength="256" aria-invalid="${invalid}"
 aria-describedby="password-policy${error ? ' reset-error' : ''}">
${passwordPolicy(deps.config.passwordMinLength)}
<label for="repeat-password">Repeat the new password</label>
<input id="repeat-password" name="repeatPassword" type="password" autocomplete="new-password" required maxlength="256">
<button type="submit">Set new password</button>
</form>`;
}

function linkInvalid(res: Response, message = LINK_NO_LONGER_VALID, status = 400): void {
  sendPage(res, status, {
    title: 'Password not changed',
    body: html`<h1>Password not changed</h1>
<p class="error" role="alert">${message}</p>
<p>Ask for a new link on <a href="/account">your account page</a> ("Forgot your password?").</p>`,
  });
}

/**
 * `GET /reset-password?token=` shows the form and changes nothing; the POST
 * sets the password. A refused password keeps the link usable (the service
 * checks the policy before it spends the token), so the form comes back
 * with the reason.
 */
export function resetPasswordRoutes(deps: PageDeps): Router {
  const r = Router();

  r.get('/reset-password', (req: Request, res: Response) => {
    const token = tokenOf(req.query.token);
    if (!token) return linkInvalid(res);
    sendPage(res, 200, { title: TITLE, body: form(deps, token) });
  });

  r.post('/reset-password', async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const token = tokenOf(body.token);
    if (!token) return linkInvalid(res);
    const newPassword = typeof body.newPassword === 'string' ? body.newPassword : '';
    if (newPassword !== body.repeatPassword) {
      return sendPage(res, 400, {
        title: TITLE,
        body: form(deps, token, 'The two passwords are not the same. Type them again.'),
      });
    }
    try {
      await consumeRateLimit(deps, 'token.ip', req);
      await deps.auth.resetPassword(deps.sql(), { token, newPassword }, requestInfo(req, res));
    } catch (err) {
      const refusal = refusalMessage(err, deps.config.passwordMinLength);
      if (!refusal) throw err;
      if (err instanceof AppError && err.code === 'WEAK_PASSWORD')
        return sendPage(res, refusal.status, { title: TITLE, body: form(deps, token, refusal.message) });
      return linkInvalid(res, refusal.message, refusal.status);
    }
    sendPage(res, 200, {
      title: 'Password changed',
      body: html`<h1>Password changed</h1>
<p class="success" role="status">Your new password is set. Every session of your account was signed out.</p>
<p><a href="/account">Sign in with your new password</a></p>`,
    });
  });

  return r;
}
