import axe from 'axe-core';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { systemClock } from '../../server/security/clock.js';
import { waitForMails } from '../support/accounts.js';
import { codeNow, totpUser } from '../support/mfa.js';
import { addVirtualAuthenticator, artifactDir, launchBrowser } from '../support/browser.js';
import { mutation } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';

/**
 * The pages in a real browser (Chromium through playwright-core): the whole
 * path of a new user, from sign-up through the mailed links to a password
 * reset, with a screenshot of every page at 320 and 1280 px, no CSP
 * violation anywhere, and axe-core's WCAG 2 A/AA rules on every page.
 */

/** The axe rule sets checked on every page: WCAG 2.0, 2.1 and 2.2, levels A and AA. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface Ctx {
  svc: TestService;
  browser: Browser;
  shots: string;
  /** Every CSP violation and page error seen in any tab, for the whole run. */
  problems: string[];
  axeRules: Set<string>;
  screenshots: string[];
}

const s = suite<Ctx>('browser: mail pages and /account');
s.before(async (ctx) => {
  // The page's origin must be PUBLIC_URL's: the pages refuse posts and
  // cookie calls from any other origin, as they would in production.
  const port = await freePort();
  ctx.svc = await startService({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
  ctx.browser = await launchBrowser();
  ctx.shots = artifactDir('pages');
  ctx.problems = [];
  ctx.axeRules = new Set();
  ctx.screenshots = [];
});
s.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.svc?.close();
});

async function newTab(ctx: Ctx): Promise<{ context: BrowserContext; page: Page }> {
  const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Also the violations the console might not print: the DOM event, collected per document.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    const text = msg.text();
    if (/content security policy|csp violation/i.test(text)) ctx.problems.push(`${page.url()}: ${text}`);
  });
  page.on('pageerror', (err) => ctx.problems.push(`${page.url()}: page error ${err.message}`));
  return { context, page };
}

/** Screenshots at 320 and 1280 px, and axe-core's WCAG A/AA rules: no violation. */
async function check(ctx: Ctx, page: Page, name: string): Promise<void> {
  for (const width of [320, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    const file = path.join(ctx.shots, `${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    ctx.screenshots.push(path.basename(file));
    // Nothing wider than the viewport: no sideways scrolling at 320 px.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `${name} at ${width} px scrolls sideways by ${overflow} px`);
  }
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axe.source);
  const result = await page.evaluate(
    (tags) => (window as unknown as { axe: typeof axe }).axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS,
  );
  for (const rule of [...result.passes, ...result.violations, ...result.incomplete, ...result.inapplicable])
    ctx.axeRules.add(rule.id);
  const violations = result.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  );
  assert.equal(violations, [], `${name}: axe violations`);
}

/** The link in the `n`th mail with this subject (a newer link replaces older ones). */
async function mailLink(to: string, subject: string, pathName: string, n = 1): Promise<string> {
  const mail = (await waitForMails(to, subject, n))[n - 1]!;
  const link = new RegExp(`https?://[^\\s"<>]+/${pathName}\\?token=[A-Za-z0-9_-]+`).exec(mail.text)?.[0];
  assert.ok(link, `a ${pathName} link in "${subject}"`);
  return link!;
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.fill('#sign-in-email', email);
  await page.fill('#sign-in-password', password);
  await page.click('#sign-in-form button');
  await page.waitForSelector('#signed-in:not([hidden])');
}

s(
  'register, confirm by mail, sign in, see the session, sign out, reset the password: old sessions end',
  async (ctx) => {
    const { svc } = ctx;
    const email = uniqueEmail('browser');
    const password = strongPassword();
    const { page } = await newTab(ctx);

    // Signed out: the account page offers sign-in, sign-up and a reset link.
    await page.goto(`${svc.url}/account`);
    await page.waitForSelector('#signed-out:not([hidden])');
    await check(ctx, page, 'account-signed-out');

    await page.fill('#register-email', email);
    await page.fill('#register-password', password);
    await page.click('#register-form button');
    await page.waitForSelector('#message:not([hidden])');
    assert.match((await page.textContent('#message')) ?? '', 'we sent a link');
    await check(ctx, page, 'account-registered');

    // Signing in before confirming says what to do.
    await page.fill('#sign-in-email', email);
    await page.fill('#sign-in-password', password);
    await page.click('#sign-in-form button');
    await page.waitForFunction(() =>
      /Confirm your email first/.test(document.getElementById('message')?.textContent ?? ''),
    );

    // The verification link (the second mail: the sign-in attempt sent a new
    // one): a page with one button, and only the button confirms.
    const verify = await mailLink(email, 'Verify your email', 'verify-email', 2);
    assert.ok(verify.startsWith(`${svc.url}/verify-email?token=`), verify);
    await page.goto(verify);
    assert.is(await page.locator('button').count(), 1);
    await check(ctx, page, 'verify-email');
    await page.click('button');
    await page.waitForSelector('text=Email confirmed');
    await check(ctx, page, 'verify-email-confirmed');

    // A second device (for "old sessions end" later): signed in through the API.
    const device = await mutation(svc.url, 'auth.login', { email, password });
    assert.is(device.status, 200);

    // Sign in on /account, see the sessions, the current one marked.
    await page.click('text=Sign in to your account');
    await page.waitForSelector('#signed-out:not([hidden])');
    await signIn(page, email, password);
    assert.is(await page.textContent('#me-email'), email);
    await page.waitForSelector('#sessions li');
    assert.is(await page.locator('#sessions li').count(), 2);
    const current = page.locator('#sessions li', { has: page.locator('.tag') });
    assert.is(await current.count(), 1);
    assert.match((await current.textContent()) ?? '', /HeadlessChrome|Chrome/);
    assert.match((await current.textContent()) ?? '', 'IP address: 127.0.0.1');
    const cookies = await page.context().cookies();
    const cookie = cookies.find((c) => c.name === '__Host-secure-auth-session');
    assert.ok(
      cookie?.httpOnly && cookie.secure && cookie.sameSite === 'Strict' && cookie.path === '/',
      JSON.stringify(cookie),
    );
    assert.is(await page.evaluate(() => document.cookie), '', 'no script sees the session cookie');
    await check(ctx, page, 'account-signed-in');

    // A reload resumes the session from the cookie.
    await page.reload();
    await page.waitForSelector('#signed-in:not([hidden])');

    // A weak new password is refused in words.
    await page.fill('#current-password', password);
    await page.fill('#new-password', 'password123456789');
    await page.click('#change-password-form button');
    await page.waitForFunction(() => /too easy to guess/.test(document.getElementById('message')?.textContent ?? ''));
    await check(ctx, page, 'account-change-refused');

    // Sign out.
    await page.click('#sign-out');
    await page.waitForSelector('#signed-out:not([hidden])');
    assert.match((await page.textContent('#message')) ?? '', 'You are signed out');
    assert.not.ok(
      (await page.context().cookies()).some((c) => c.name === '__Host-secure-auth-session'),
      'cookie cleared',
    );

    // Another browser still signed in, to see its session end with the reset.
    const other = await newTab(ctx);
    await other.page.goto(`${svc.url}/account`);
    await other.page.waitForSelector('#signed-out:not([hidden])');
    await signIn(other.page, email, password);

    // Forgot the password: the mailed link leads to the reset page.
    await page.fill('#forgot-email', email);
    await page.click('#forgot-form button');
    await page.waitForFunction(() => /we sent it a link/.test(document.getElementById('message')?.textContent ?? ''));
    const reset = await mailLink(email, 'Reset your password', 'reset-password');
    await page.goto(reset);
    await check(ctx, page, 'reset-password');
    // Long enough for the browser's own check (minlength), refused by the service.
    await page.fill('#new-password', 'passwordpassword123');
    await page.fill('#repeat-password', 'passwordpassword123');
    await page.click('button');
    await page.waitForSelector('#reset-error');
    assert.match((await page.textContent('#reset-error')) ?? '', 'too easy to guess');
    await check(ctx, page, 'reset-password-refused');
    const fresh = strongPassword();
    await page.fill('#new-password', fresh);
    await page.fill('#repeat-password', fresh);
    await page.click('button');
    await page.waitForSelector('text=Password changed');
    await check(ctx, page, 'reset-password-done');

    // Old sessions are gone: the API device's refresh token, and the other browser.
    const refreshed = await mutation(svc.url, 'auth.refresh', { refreshToken: device.data.refreshToken });
    assert.is(refreshed.error?.data.appCode, 'INVALID_REFRESH_TOKEN');
    await other.page.reload();
    await other.page.waitForSelector('#signed-out:not([hidden])');

    // The new password signs in; the only session is this one.
    await page.goto(`${svc.url}/account`);
    await page.waitForSelector('#signed-out:not([hidden])');
    await signIn(page, email, fresh);
    await page.waitForSelector('#sessions li');
    assert.is(await page.locator('#sessions li').count(), 1);
    await page.click('#sign-out');
    await page.waitForSelector('#signed-out:not([hidden])');
  },
);

s('an account with two-step sign-in: the password, then the code from the authenticator app', async (ctx) => {
  const user = await totpUser(ctx.svc, systemClock);
  const { page } = await newTab(ctx);
  await page.goto(`${ctx.svc.url}/account`);
  await page.waitForSelector('#signed-out:not([hidden])');
  await page.fill('#sign-in-email', user.email);
  await page.fill('#sign-in-password', user.password);
  await page.click('#sign-in-form button');
  await page.waitForSelector('#second-factor:not([hidden])');
  assert.is(await page.evaluate(() => document.activeElement?.id), 'mfa-code', 'focus moves to the code');
  await check(ctx, page, 'account-second-factor');

  await page.fill('#mfa-code', '000000' === codeNow(user.secret, systemClock, 1) ? '111111' : '000000');
  await page.click('#second-factor button');
  await page.waitForFunction(() => /not right/.test(document.getElementById('message')?.textContent ?? ''));
  // The next step's code (the current one was spent confirming the factor).
  await page.fill('#mfa-code', codeNow(user.secret, systemClock, 1));
  await page.click('#second-factor button');
  await page.waitForSelector('#signed-in:not([hidden])');
  assert.is(await page.textContent('#me-email'), user.email);
  assert.ok(
    (await page.context().cookies()).some((c) => c.name === '__Host-secure-auth-session' && c.httpOnly),
    'the cookie holds the session',
  );
  await page.reload();
  await page.waitForSelector('#signed-in:not([hidden])');
});

s('TOTP on /account: QR code and key, a code from the app, recovery codes once; sign in with a code', async (ctx) => {
  const user = await createVerifiedUser(ctx.svc.url);
  const { page } = await newTab(ctx);
  await page.goto(`${ctx.svc.url}/account`);
  await page.waitForSelector('#signed-out:not([hidden])');
  await signIn(page, user.email, user.password);
  assert.match((await page.textContent('#factors-status')) ?? '', 'Two-step sign-in is off');

  // Without the password, nothing starts: the field asks for it.
  await page.click('#add-totp');
  await page.waitForFunction(() => /current password/.test(document.getElementById('message')?.textContent ?? ''));
  assert.is(await page.evaluate(() => document.activeElement?.id), 'reauth-proof');

  await page.fill('#reauth-proof', user.password);
  await page.press('#reauth-proof', 'Enter'); // the keyboard starts it as well as the button
  await page.waitForSelector('#totp-enrol:not([hidden])');
  assert.is(await page.evaluate(() => document.activeElement?.id), 'totp-enrol-heading');
  assert.is(await page.inputValue('#reauth-proof'), '', 'the password is not kept in the page');
  // The service's SVG, inline, drawing only; named for screen readers.
  const qr = page.locator('#totp-qr svg');
  assert.is(await qr.count(), 1);
  assert.is(await qr.getAttribute('role'), 'img');
  assert.ok(await qr.evaluate((el) => el.querySelectorAll('path').length > 0 && !el.querySelector('script')));
  assert.ok(((await qr.boundingBox())?.width ?? 0) > 100, 'the QR code is drawn at a scannable size');
  const secret = (await page.textContent('#totp-secret'))?.trim() ?? '';
  assert.match(secret, /^[A-Z2-7]{32}$/);
  await check(ctx, page, 'account-totp-enrol');

  // A wrong code is refused; the app's code turns it on and shows the recovery codes once.
  const code = codeNow(secret, systemClock);
  await page.fill('#totp-code', code === '000000' ? '111111' : '000000');
  await page.click('#totp-confirm-form button[type=submit]');
  await page.waitForFunction(() => /not right/.test(document.getElementById('message')?.textContent ?? ''));
  await page.fill('#totp-code', code);
  await page.click('#totp-confirm-form button[type=submit]');
  await page.waitForSelector('#recovery-panel:not([hidden])');
  assert.is(await page.locator('#totp-enrol').isHidden(), true);
  const recoveryCodes = await page.locator('#recovery-codes li').allTextContents();
  assert.is(recoveryCodes.length, 10);
  assert.match((await page.textContent('#factors-status')) ?? '', 'Two-step sign-in is on. Recovery codes left: 10.');
  assert.is(await page.locator('#factors li').count(), 1);
  assert.match((await page.textContent('#factors li')) ?? '', 'Authenticator app');
  await check(ctx, page, 'account-recovery-codes');
  await page.click('#recovery-done');
  assert.is(await page.locator('#recovery-codes li').count(), 0, 'the codes are gone from the page');
  await check(ctx, page, 'account-factors');

  // Sign out; signing in now asks for the app's code (the next step's: this one was spent).
  await page.click('#sign-out');
  await page.waitForSelector('#signed-out:not([hidden])');
  await page.fill('#sign-in-email', user.email);
  await page.fill('#sign-in-password', user.password);
  await page.click('#sign-in-form button');
  await page.waitForSelector('#second-factor:not([hidden])');
  await page.fill('#mfa-code', codeNow(secret, systemClock, 1));
  await page.click('#second-factor button[type=submit]');
  await page.waitForSelector('#signed-in:not([hidden])');

  // New recovery codes with a recovery code as the proof; then remove the app with the password.
  await page.fill('#reauth-proof', recoveryCodes[0]!);
  await page.click('#regenerate-codes');
  await page.waitForSelector('#recovery-panel:not([hidden])');
  const fresh = await page.locator('#recovery-codes li').allTextContents();
  assert.is(fresh.length, 10);
  assert.not.ok(
    fresh.some((c) => recoveryCodes.includes(c)),
    'all new codes',
  );
  await page.click('#recovery-done');
  await page.fill('#reauth-proof', user.password);
  await page.click('#factors li button');
  await page.waitForFunction(() => /sign-in is off/.test(document.getElementById('message')?.textContent ?? ''));
  assert.is(await page.locator('#factors li').count(), 0);
  await page.click('#sign-out');
  await page.waitForSelector('#signed-out:not([hidden])');
  await signIn(page, user.email, user.password);
});

s('passkeys on /account: add one, sign in with it alone, then as the step after the password', async (ctx) => {
  // WebAuthn refuses an IP address as relying party: this service runs on localhost.
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const svc = await startService({ PORT: String(port), PUBLIC_URL: origin });
  try {
    const user = await createVerifiedUser(svc.url);
    const { context, page } = await newTab(ctx);
    await addVirtualAuthenticator(page);
    await page.goto(`${origin}/account`);
    await page.waitForSelector('#signed-out:not([hidden])');
    assert.ok(await page.isVisible('#passkey-sign-in'), 'the browser supports passkeys: the button is there');
    await signIn(page, user.email, user.password);

    await page.fill('#reauth-proof', user.password);
    await page.click('#add-passkey');
    await page.waitForSelector('#recovery-panel:not([hidden])');
    assert.match((await page.textContent('#message')) ?? '', 'passkey was added');
    assert.is(await page.locator('#recovery-codes li').count(), 10, 'the first factor comes with recovery codes');
    assert.match((await page.textContent('#factors li')) ?? '', /passkey/i);
    await check(ctx, page, 'account-passkey-added');
    await page.click('#recovery-done');

    // Passwordless: the browser offers the passkey it holds; the cookie keeps the session.
    await page.click('#sign-out');
    await page.waitForSelector('#signed-out:not([hidden])');
    await page.click('#passkey-sign-in');
    await page.waitForSelector('#signed-in:not([hidden])');
    assert.is(await page.textContent('#me-email'), user.email);
    await page.reload();
    await page.waitForSelector('#signed-in:not([hidden])');

    // As the second step after the password.
    await page.click('#sign-out');
    await page.waitForSelector('#signed-out:not([hidden])');
    await page.fill('#sign-in-email', user.email);
    await page.fill('#sign-in-password', user.password);
    await page.click('#sign-in-form button');
    await page.waitForSelector('#mfa-passkey:not([hidden])');
    await page.click('#mfa-passkey');
    await page.waitForSelector('#signed-in:not([hidden])');
    assert.is(await page.textContent('#me-email'), user.email);
    await context.close();
  } finally {
    await svc.close();
  }
});

s('no CSP violation and no script error in the whole run; every screenshot taken', (ctx) => {
  assert.equal(ctx.problems, []);
  assert.is(ctx.screenshots.length, 2 * 14);
  assert.ok(ctx.axeRules.size > 20, `axe checked ${ctx.axeRules.size} rules`);
  console.log(`axe rules checked (${[...AXE_TAGS].join(', ')}): ${[...ctx.axeRules].sort().join(' ')}`);
});

s.run();
