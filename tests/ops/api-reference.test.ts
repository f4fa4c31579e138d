import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appRouter } from '../../server/trpc/routers/app.router.js';
import { ROOT } from './cli-support.js';

/**
 * Keeps docs/api-reference.md in step with the router: every procedure has a
 * section (`### \`path\``) that states its kind and its rate-limit rules, and
 * no section describes a procedure that no longer exists.
 */

interface ProcedureDef {
  _def: { type: 'query' | 'mutation' | 'subscription'; meta?: { rateLimits?: readonly string[] } };
}

const procedures = (appRouter as unknown as { _def: { procedures: Record<string, ProcedureDef> } })._def.procedures;
const doc = readFileSync(path.join(ROOT, 'docs/api-reference.md'), 'utf8');

/** Section bodies by procedure path. */
function sections(): Map<string, string> {
  const out = new Map<string, string>();
  const parts = doc.split(/^### /m).slice(1);
  for (const part of parts) {
    const m = /^`([^`]+)`\s*\n/.exec(part);
    if (m) out.set(m[1]!, part.slice(m[0].length).split(/^## /m)[0]!);
  }
  return out;
}

const s = suite('API reference');

s('the router has every public procedure', () => {
  const paths = Object.keys(procedures);
  for (const p of [
    'health',
    'auth.register',
    'auth.verifyEmail',
    'auth.resendVerification',
    'auth.login',
    'auth.refresh',
    'auth.logout',
    'auth.me',
    'auth.changePassword',
    'auth.requestPasswordReset',
    'auth.resetPassword',
    'sessions.list',
    'sessions.revoke',
    'sessions.revokeAll',
    'admin.users.list',
    'admin.users.get',
    'admin.users.unlock',
    'admin.users.setSuperuser',
    'admin.users.setActive',
    'admin.users.revokeSessions',
    'admin.users.forcePasswordReset',
    'admin.securityEvents.list',
    'admin.users.resetMfa',
    'mfa.list',
    'mfa.totp.enroll',
    'mfa.totp.confirm',
    'mfa.passkey.registerOptions',
    'mfa.passkey.register',
    'mfa.remove',
    'mfa.recoveryCodes.regenerate',
    'auth.mfa.verify',
    'auth.mfa.passkeyOptions',
    'auth.mfa.passkeyVerify',
    'auth.passkey.loginOptions',
    'auth.passkey.login',
  ]) {
    assert.ok(paths.includes(p), `router lacks ${p}`);
  }
});

s('every procedure of the router is documented with its kind and rate limits', () => {
  const docs = sections();
  const missing = Object.keys(procedures).filter((p) => !docs.has(p));
  assert.equal(missing, [], `docs/api-reference.md lacks: ${missing.join(', ')}`);
  for (const [p, def] of Object.entries(procedures)) {
    const body = docs.get(p)!;
    const kind = /\*\*Kind:\*\* (\w+)/.exec(body)?.[1];
    assert.is(kind, def._def.type, `${p}: documented as ${kind}, is a ${def._def.type}`);
    const rules = def._def.meta?.rateLimits ?? ['default.ip'];
    const documented = /\*\*Rate limits:\*\* ([^\n]*)/.exec(body)?.[1] ?? '';
    const listed = [...documented.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    assert.equal(listed.sort(), [...rules].sort(), `${p}: rate limits`);
    assert.match(body, /Input:/, `${p}: no input described`);
    assert.match(body, /Output:/, `${p}: no output described`);
    assert.match(body, /Errors:|\| appCode \|/, `${p}: no errors described`);
  }
});

s('the reference documents no procedure the router does not have', () => {
  const stale = [...sections().keys()].filter((p) => !(p in procedures));
  assert.equal(stale, [], `documented but not in the router: ${stale.join(', ')}`);
});

s('every appCode is explained', async () => {
  const { AppCode } = await import('../../shared/app-codes.js');
  for (const code of Object.keys(AppCode))
    assert.ok(doc.includes(`\`${code}\``), `appCode ${code} not in the reference`);
});

s.run();
