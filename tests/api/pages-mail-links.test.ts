import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { accountSuite, login, registerAccount, userRow, verifiedAccount, waitForMails } from '../support/accounts.js';
import { mutation } from '../support/http.js';
import { startService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { strongPassword } from '../support/users.js';

// PUBLIC_URL of the test services (tests/support/service.ts): the origin a
// browser shows when it posts a page's form.
const OWN_ORIGIN = 'http://auth.test.local';
const APP_ORIGIN = 'https://app.example.com';

const s = accountSuite('pages: verify-email and reset-password', { CORS_ORIGINS: APP_ORIGIN });

interface Page {
  status: number;
  headers: Headers;
  body: string;
}

async function get(url: string): Promise<Page> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

async function post(url: string, form: Record<string, string>, origin: string | null = OWN_ORIGIN): Promise<Page> {
  const res = await fetch(url, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers: origin === null ? {} : { origin },
    redirect: 'manual',
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

async function tokenUsed(
  db: { row: (q: string, p: unknown[]) => Promise<any> },
  email: string,
  purpose: string,
): Promise<boolean> {
  const row = await db.row(
    `select t.used_at from email_tokens t join users u on u.id = t.user_id
      where u.email = $1 and t.purpose = $2 order by t.created_at desc limit 1`,
    [email, purpose],
  );
  assert.ok(row, `an ${purpose} token row for ${email}`);
  return row.used_at !== null;
}

async function requestReset(url: string, email: string): Promise<string> {
  const before = (await waitForMails(email, 'Reset your password', 0)).length;
  assert.is((await mutation(url, 'auth.requestPasswordReset', { email })).status, 200);
  const mails = await waitForMails(email, 'Reset your password', before + 1);
  return linkToken(mails[before]!, 'reset-password');
}

s('GET /verify-email shows one button and uses nothing; its POST verifies once', async ({ svc, db }) => {
  const { email, password, verifyToken } = await registerAccount(svc.url);
  for (let i = 0; i < 3; i++) {
    // A mail scanner or link preview fetching the link, repeatedly.
    const page = await get(`${svc.url}/verify-email?token=${verifyToken}`);
    assert.is(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.is((page.body.match(/<button/g) ?? []).length, 1, 'exactly one button');
    assert.match(page.body, /<form method="post" action="\/verify-email">/);
  }
  assert.is(await tokenUsed(db, email, 'verify_email'), false, 'GET used the token');
  assert.is((await userRow(db, email))?.email_verified_at, null);

  const done = await post(`${svc.url}/verify-email`, { token: verifyToken });
  assert.is(done.status, 200, done.body);
  assert.match(done.body, 'Email confirmed');
  assert.ok((await userRow(db, email))?.email_verified_at);
  assert.is((await login(svc.url, email, password)).status, 200);

  const again = await post(`${svc.url}/verify-email`, { token: verifyToken });
  assert.is(again.status, 400);
  assert.match(again.body, 'This link is no longer valid');
});

s('a POST without a valid token shows the error page (missing, malformed, unknown)', async ({ svc }) => {
  for (const path of ['/verify-email', '/reset-password']) {
    const forms: Array<Record<string, string>> = [
      {},
      { token: 'not a token!' },
      { token: randomBytes(32).toString('base64url'), newPassword: strongPassword() },
    ];
    for (const form of forms) {
      const extra: Record<string, string> =
        path === '/reset-password' && form.newPassword ? { repeatPassword: form.newPassword } : {};
      const page = await post(`${svc.url}${path}`, { ...form, ...extra });
      assert.is(page.status, 400, `${path} ${JSON.stringify(form)}`);
      assert.match(page.body, 'This link is no longer valid');
      assert.match(page.body, 'role="alert"');
    }
    const bare = await get(`${svc.url}${path}`);
    assert.is(bare.status, 400);
    assert.match(bare.body, 'This link is no longer valid');
  }
});

s(
  'GET /reset-password explains the policy and uses nothing; refusals are in words and keep the link',
  async ({ svc, db }) => {
    const { email, password } = await verifiedAccount(svc.url);
    const old = await login(svc.url, email, password);
    const token = await requestReset(svc.url, email);

    const form = await get(`${svc.url}/reset-password?token=${token}`);
    assert.is(form.status, 200);
    assert.match(form.body, 'at least 15 characters');
    assert.match(form.body, 'hard to guess');
    assert.match(form.body, 'before the @');
    assert.is(await tokenUsed(db, email, 'reset_password'), false, 'GET used the token');

    const refusals: Array<[string, string]> = [
      ['short pass', 'too short: use at least 15 characters'],
      ['passwordpassword123', 'too easy to guess'],
      [`${email.split('@')[0]}-Velvet-Quince-92`, 'before the @'],
      ['my secure-auth Velvet Quince 92', 'name of this service'],
    ];
    for (const [pw, words] of refusals) {
      const page = await post(`${svc.url}/reset-password`, { token, newPassword: pw, repeatPassword: pw });
      assert.is(page.status, 400, pw);
      assert.match(page.body, words);
      assert.match(page.body, 'aria-invalid="true"');
      assert.match(page.body, `value="${token}"`, 'the form comes back with the link');
    }
    const mismatch = await post(`${svc.url}/reset-password`, {
      token,
      newPassword: strongPassword(),
      repeatPassword: strongPassword(),
    });
    assert.is(mismatch.status, 400);
    assert.match(mismatch.body, 'not the same');
    assert.is(await tokenUsed(db, email, 'reset_password'), false, 'a refusal used the token');

    const fresh = strongPassword();
    const done = await post(`${svc.url}/reset-password`, { token, newPassword: fresh, repeatPassword: fresh });
    assert.is(done.status, 200, done.body);
    assert.match(done.body, 'Password changed');
    assert.is((await login(svc.url, email, fresh)).status, 200);
    const refresh = await mutation(svc.url, 'auth.refresh', { refreshToken: old.data.refreshToken });
    assert.is(refresh.error?.data.appCode, 'INVALID_REFRESH_TOKEN', 'the old session ended');

    const reused = await post(`${svc.url}/reset-password`, { token, newPassword: fresh, repeatPassword: fresh });
    assert.is(reused.status, 400);
    assert.match(reused.body, 'This link is no longer valid');
  },
);

s(
  'a post from a foreign Origin is refused and uses nothing; own origin, CORS_ORIGINS and no Origin pass',
  async ({ svc, db }) => {
    const { email, verifyToken } = await registerAccount(svc.url);
    for (const origin of ['https://evil.example', 'null', 'http://auth.test.local.evil.example']) {
      const page = await post(`${svc.url}/verify-email`, { token: verifyToken }, origin);
      assert.is(page.status, 403, origin);
      assert.match(page.body, 'sent from another website');
    }
    assert.is(await tokenUsed(db, email, 'verify_email'), false);
    assert.is((await post(`${svc.url}/verify-email`, { token: verifyToken }, APP_ORIGIN)).status, 200);

    const other = await registerAccount(svc.url);
    assert.is(
      (await post(`${svc.url}/verify-email`, { token: other.verifyToken }, null)).status,
      200,
      'no Origin (an old browser)',
    );

    const { email: resetEmail } = await verifiedAccount(svc.url);
    const token = await requestReset(svc.url, resetEmail);
    const pw = strongPassword();
    const foreign = await post(
      `${svc.url}/reset-password`,
      { token, newPassword: pw, repeatPassword: pw },
      'https://evil.example',
    );
    assert.is(foreign.status, 403);
    assert.is(await tokenUsed(db, resetEmail, 'reset_password'), false);
  },
);

s(
  'every page: strict CSP with a fresh style nonce, form-action self, no script, no external asset, labelled inputs',
  async ({ svc }) => {
    const { verifyToken } = await registerAccount(svc.url);
    const pages = [
      await get(`${svc.url}/verify-email?token=${verifyToken}`),
      await get(`${svc.url}/verify-email?token=${verifyToken}`),
      await get(`${svc.url}/reset-password?token=${verifyToken}`),
      await get(`${svc.url}/reset-password`),
      await post(`${svc.url}/verify-email`, {}),
      await post(`${svc.url}/verify-email`, {}, 'https://evil.example'),
    ];
    const nonces = new Set<string>();
    for (const page of pages) {
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /(^|; )default-src 'none'(;|$)/);
      assert.match(csp, /(^|; )form-action 'self'(;|$)/);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
      assert.not.match(csp, /script-src|unsafe-inline|\*/);
      const nonce = /style-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      assert.ok(nonce, csp);
      assert.match(page.body, `<style nonce="${nonce}">`);
      nonces.add(nonce!);
      assert.is(page.headers.get('cache-control'), 'no-store');
      assert.is(page.headers.get('x-content-type-options'), 'nosniff');
      // A browser sends `Origin: null` under no-referrer, which the post check refuses.
      assert.is(page.headers.get('referrer-policy'), 'strict-origin');
      assert.not.match(page.body, /<script|\ssrc=|href="(https?:)?\/\/|style="/i);
      assert.match(page.body, '<html lang="en">');
      assert.match(page.body, 'name="viewport" content="width=device-width, initial-scale=1"');
      const ids = [...page.body.matchAll(/<input id="([^"]+)"/g)].map((m) => m[1]);
      const visible = (page.body.match(/<input (?![^>]*type="hidden")/g) ?? []).length;
      assert.is(ids.length, visible, 'every visible input has an id');
      for (const id of ids) assert.match(page.body, `<label for="${id}">`);
    }
    assert.is(nonces.size, pages.length, 'a new nonce per response');
  },
);

s('values are escaped: a token-shaped value cannot become markup', async ({ svc }) => {
  const hostile = await get(`${svc.url}/reset-password?token=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
  assert.is(hostile.status, 400);
  assert.not.match(hostile.body, /<script|alert\(1\)/);
  // The query parser hands arrays to handlers too: still refused, not reflected.
  const array = await get(`${svc.url}/verify-email?token=a&token=%3Cb%3E`);
  assert.is(array.status, 400);
  assert.not.match(array.body, '<b>');
});

s(
  'the posts count under the token.ip rate limit, like the procedures; a refused post says how long to wait',
  async () => {
    const svc = await startService({ RATE_LIMIT_ENABLED: 'true', RATE_LIMITS: '{"token.ip":[2,3600]}' });
    try {
      const token = randomBytes(32).toString('base64url');
      for (let i = 0; i < 2; i++) assert.is((await post(`${svc.url}/verify-email`, { token })).status, 400);
      const limited = await post(`${svc.url}/verify-email`, { token });
      assert.is(limited.status, 429);
      assert.match(limited.body, /Too many attempts from your network\. Try again in (a minute|\d+ minutes)\./);
      const pw = strongPassword();
      const reset = await post(`${svc.url}/reset-password`, { token, newPassword: pw, repeatPassword: pw });
      assert.is(reset.status, 429, 'one budget for both pages');
    } finally {
      await svc.close();
    }
  },
);

s('PAGES_ENABLED=false: the paths are not served (an operator front end owns them)', async () => {
  const svc = await startService({ PAGES_ENABLED: 'false' });
  try {
    const page = await get(`${svc.url}/verify-email?token=${randomBytes(32).toString('base64url')}`);
    assert.is(page.status, 404);
    assert.match(page.headers.get('content-type') ?? '', /json/);
    assert.is((await post(`${svc.url}/reset-password`, {})).status, 404);
  } finally {
    await svc.close();
  }
});

s.run();
