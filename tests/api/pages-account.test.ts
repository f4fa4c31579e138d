import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startService, type TestService } from '../support/service.js';

const s = suite<{ svc: TestService }>('pages: /account');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

s('the page carries one inline script, allowed by its SHA-256 hash only; nothing external', async ({ svc }) => {
  const res = await fetch(`${svc.url}/account`);
  const body = await res.text();
  assert.is(res.status, 200);
  const csp = res.headers.get('content-security-policy') ?? '';
  const scripts = [...body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  assert.is(scripts.length, 1);
  assert.is((body.match(/<script/g) ?? []).length, 1);
  const hash = createHash('sha256').update(scripts[0]!, 'utf8').digest('base64');
  assert.match(csp, `script-src 'sha256-${hash}'`);
  assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
  assert.match(csp, /(^|; )default-src 'none'(;|$)/);
  assert.match(csp, /(^|; )form-action 'self'(;|$)/);
  assert.not.match(csp, /unsafe-inline|unsafe-eval|\*/);
  assert.not.match(body, /\ssrc=|href="(https?:)?\/\//);
  assert.ok(Buffer.byteLength(scripts[0]!) < 64 * 1024, `a small bundle (${Buffer.byteLength(scripts[0]!)} bytes)`);
  // The same bundle (and hash) on every request; a fresh style nonce each time.
  const again = await fetch(`${svc.url}/account`);
  await again.text();
  const csp2 = again.headers.get('content-security-policy') ?? '';
  assert.match(csp2, `script-src 'sha256-${hash}'`);
  assert.is.not(/nonce-([^']+)/.exec(csp2)?.[1], /nonce-([^']+)/.exec(csp)?.[1]);
});

s('every visible input has a label; the password policy is described', async ({ svc }) => {
  const body = await (await fetch(`${svc.url}/account`)).text();
  const ids = [...body.matchAll(/<input id="([^"]+)"/g)].map((m) => m[1]!);
  // Sign in, second step, sign up, reset link, change password; the re-auth field and the TOTP code.
  assert.is(ids.length, 10);
  assert.ok(ids.includes('reauth-proof') && ids.includes('totp-code'), ids.join(' '));
  assert.is((body.match(/<input /g) ?? []).length, ids.length);
  for (const id of ids) assert.match(body, `<label for="${id}">`);
  assert.match(body, 'aria-describedby="register-policy"');
  assert.match(body, '<div id="register-policy" class="hint">');
  assert.match(body, 'at least 15 characters');
});

s('without cookie sessions (SESSION_COOKIE=false) there is no account page; the mail pages stay', async () => {
  const svc = await startService({ SESSION_COOKIE: 'false' });
  try {
    const account = await fetch(`${svc.url}/account`);
    await account.arrayBuffer();
    assert.is(account.status, 404);
    const verify = await fetch(`${svc.url}/verify-email?token=${'a'.repeat(43)}`);
    assert.match(await verify.text(), 'Confirm my email');
  } finally {
    await svc.close();
  }
});

s.run();
