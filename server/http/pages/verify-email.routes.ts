import { Router, type Request, type Response } from 'express';
import { opaqueTokenSchema } from '../../../shared/schemas.js';
import type { PageDeps } from './page-deps.js';
import { html } from './html.js';
import { sendPage } from './layout.js';
import { consumeRateLimit, requestInfo } from './page-guards.js';
import { LINK_NO_LONGER_VALID, refusalMessage } from './refusals.js';

/** A token from the query or the form, or undefined when absent or malformed. */
export function tokenOf(value: unknown): string | undefined {
  const parsed = opaqueTokenSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function linkInvalid(res: Response, title: string): void {
  sendPage(res, 400, {
    title,
    body: html`<h1>${title}</h1>
<p class="error" role="alert">${LINK_NO_LONGER_VALID}</p>
<p>Sign in on <a href="/account">your account page</a> to have a new link sent.</p>`,
  });
}

/**
 * `GET /verify-email?token=` shows one button and changes nothing: mail
 * scanners and link previews fetch the link, and must not use it up. Only
 * the button's POST spends the token.
 */
export function verifyEmailRoutes(deps: PageDeps): Router {
  const r = Router();

  r.get('/verify-email', (req: Request, res: Response) => {
    const token = tokenOf(req.query.token);
    if (!token) return linkInvalid(res, 'Confirm your email');
    sendPage(res, 200, {
      title: 'Confirm your email',
      body: html`<h1>Confirm your email</h1>
<p>Press the button to confirm this email address for your secure-auth account.</p>
<form method="post" action="/verify-email">
<input type="hidden" name="token" value="${token}">
<button type="submit">Confirm my email</button>
</form>`,
    });
  });

  r.post('/verify-email', async (req: Request, res: Response) => {
    const token = tokenOf((req.body as Record<string, unknown> | undefined)?.token);
    if (!token) return linkInvalid(res, 'Email not confirmed');
    try {
      await consumeRateLimit(deps, 'token.ip', req);
      await deps.auth.verifyEmail(deps.sql(), token, requestInfo(req, res));
    } catch (err) {
      const refusal = refusalMessage(err, deps.config.passwordMinLength);
      if (!refusal) throw err;
      return sendPage(res, refusal.status, {
        title: 'Email not confirmed',
        body: html`<h1>Email not confirmed</h1>
<p class="error" role="alert">${refusal.message}</p>
<p>Sign in on <a href="/account">your account page</a> to have a new link sent.</p>`,
      });
    }
    sendPage(res, 200, {
      title: 'Email confirmed',
      body: html`<h1>Email confirmed</h1>
<p class="success" role="status">Thank you: your email address is confirmed.</p>
<p><a href="/account">Sign in to your account</a></p>`,
    });
  });

  return r;
}
