import path from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../server/db/embedded-postgres.js';
import { addVirtualAuthenticator, launchBrowser } from '../support/browser.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';

/**
 * Passkeys in a real browser: Debian's chromium with a CDP virtual
 * authenticator (CTAP2, internal transport, resident keys, user
 * verification) against the running service. The page is a tiny test page
 * served (by request interception) on the service's own origin, running the
 * published client's browser entry, bundled for it here.
 */

interface Ctx {
  svc: TestService;
  browser: Browser;
  page: Page;
  origin: string;
}

const s = suite<Ctx>('browser: passkeys');

async function clientBundle(): Promise<string> {
  const root = path.resolve('.');
  const out = await build({
    stdin: {
      contents: `export { createSession } from './client/src/index.ts';\nexport * from './client/src/browser.ts';`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    globalName: 'secureAuth',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

s.before(async (ctx) => {
  const port = await freePort();
  // WebAuthn needs a secure context: http://localhost is one. The relying
  // party is then `localhost`, with this origin.
  ctx.origin = `http://localhost:${port}`;
  ctx.svc = await startService({ PORT: String(port), PUBLIC_URL: ctx.origin });
  ctx.browser = await launchBrowser();
  const page = await ctx.browser.newPage();
  const script = await clientBundle();
  await page.route(`${ctx.origin}/passkey-test`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>passkeys</title><script>${script}</script>`,
    }),
  );
  await addVirtualAuthenticator(page);
  await page.goto(`${ctx.origin}/passkey-test`);
  ctx.page = page;
});
s.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.svc?.close();
});

declare const secureAuth: typeof import('../../client/src/browser.js') & typeof import('../../client/src/index.js');

s(
  'register a passkey, sign out, sign in with it as the second factor, then passwordless',
  async ({ svc, page, origin }) => {
    const u = await createVerifiedUser(svc.url);
    const log = (line: string) => console.log(`   ${line}`);

    const registered = await page.evaluate(
      async ({ origin, email, password }) => {
        const session = secureAuth.createSession({ url: origin });
        const signedIn = await session.login({ email, password });
        const added = await secureAuth.registerPasskey(session.client, { currentPassword: password, name: 'Chromium' });
        await session.logout();
        return { status: signedIn.status, factorId: added.factorId, codes: added.recoveryCodes?.length ?? 0 };
      },
      { origin, email: u.email, password: u.password },
    );
    assert.is(registered.status, 'signed_in');
    assert.is(registered.codes, 10, 'the first factor brings recovery codes');
    log(`registered passkey factor ${registered.factorId}`);

    const second = await page.evaluate(
      async ({ origin, email, password }) => {
        const session = secureAuth.createSession({ url: origin });
        const first = await session.login({ email, password });
        if (first.status !== 'mfa_required') return { error: 'no second factor asked' };
        const heldBefore = session.tokens() !== null;
        const done = await secureAuth.verifyWithPasskey(first);
        const me = await session.client.auth.me.query();
        const token = session.tokens()!.accessToken;
        await session.logout();
        return { methods: first.methods, heldBefore, status: done.status, email: me.email, token };
      },
      { origin, email: u.email, password: u.password },
    );
    assert.is(second.error, undefined, second.error);
    assert.equal(second.methods, ['passkey', 'recovery_code']);
    assert.is(second.heldBefore, false, 'no token before the second factor');
    assert.is(second.status, 'signed_in');
    assert.is(second.email, u.email);
    const secondClaims = await svc.deps.accessTokens.verify(second.token!);
    assert.equal(secondClaims.amr, ['pwd', 'hwk']);
    log(`signed in with password + passkey: amr ${JSON.stringify(secondClaims.amr)}`);

    const passwordless = await page.evaluate(
      async ({ origin }) => {
        const session = secureAuth.createSession({ url: origin });
        const done = await secureAuth.signInWithPasskey(session);
        const me = await session.client.auth.me.query();
        return { status: done.status, email: me.email, token: session.tokens()!.accessToken };
      },
      { origin },
    );
    assert.is(passwordless.status, 'signed_in');
    assert.is(passwordless.email, u.email);
    const claims = await svc.deps.accessTokens.verify(passwordless.token);
    assert.equal(claims.amr, ['hwk', 'user']);
    log(`signed in passwordless with the passkey: amr ${JSON.stringify(claims.amr)}`);
  },
);

s.run();
