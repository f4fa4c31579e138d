import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import { dbRows } from '../support/pg.js';
import { findLeaks, knownSecrets, rememberSecret, runAfterAllSuites } from '../support/secrets.js';
import { startService } from '../support/service.js';
import { linkToken } from '../support/smtp.js';
import { createVerifiedUser, strongPassword } from '../support/users.js';

/**
 * The last suite of the run: scans every log line every service of the run
 * wrote (in-process services and the traced child processes) and every
 * security_events row for the secrets the suites used (registered with
 * rememberSecret, seen on the wire, or mailed) and for secret-shaped values
 * (access tokens, password fields, scrypt hashes, token links).
 */

const s = suite('secret scan of the whole run');

s.before(async () => {
  // Whatever subset of suites ran, the scan has a full set of flows to check:
  // register, verify, login, refresh, failed login, reset, change password.
  const svc = await startService({ LOG_LEVEL: 'debug' });
  try {
    const user = await createVerifiedUser(svc.url);
    rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
    const refreshed = await mutation(svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
    rememberSecret(refreshed.data?.accessToken, refreshed.data?.refreshToken);
    await mutation(svc.url, 'auth.login', { email: user.email, password: strongPassword() });
    await mutation(svc.url, 'auth.requestPasswordReset', { email: user.email });
    const mail = await testGlobals().smtp.waitFor(user.email, 'Reset your password');
    const newPassword = strongPassword();
    rememberSecret(newPassword);
    await mutation(svc.url, 'auth.resetPassword', { token: linkToken(mail, 'reset-password'), newPassword });
    const again = await mutation(svc.url, 'auth.login', { email: user.email, password: newPassword });
    rememberSecret(again.data?.accessToken, again.data?.refreshToken);
    const changed = await mutation(
      svc.url,
      'auth.changePassword',
      { currentPassword: newPassword, newPassword: strongPassword() },
      { token: again.data?.accessToken },
    );
    rememberSecret(changed.data?.accessToken, changed.data?.refreshToken);
  } finally {
    await svc.close();
  }
});

s('no secret used by any suite appears in any log line or audit row', async () => {
  const g = testGlobals();
  const rows = await dbRows<{ t: string }>('select row_to_json(e)::text as t from security_events e');
  const secrets = knownSecrets();
  // Not vacuous: the run used secrets and the services logged.
  assert.ok(secrets.size >= 10, `secrets collected: ${secrets.size}`);
  assert.ok(g.logLines.length >= 20, `log lines captured: ${g.logLines.length}`);
  const leaks = findLeaks([...g.logLines, ...rows.map((r) => r.t)], secrets);
  assert.equal(leaks, [], `leaks:\n${leaks.map((l) => `${l.what} ${l.sample}: ${l.line}`).join('\n')}`);
});

s('the scanner finds what it looks for (so a pass means something)', () => {
  const secret = `Velvet-${Date.now()}-Harbor-Quince-92`;
  const lines = [
    '{"msg":"request","path":"/trpc/auth.login"}',
    `{"msg":"oops","note":"${secret}"}`,
    '{"msg":"oops","password":"hunter2-but-longer"}',
    '{"msg":"fine","password":"[redacted]"}',
    '{"msg":"oops","auth":"Bearer v4.public.eyJzdWIiOiJ4In0abcdefghijklmnop"}',
    '{"msg":"oops","hash":"c2NyeXB0AA8AAAAIAAAAAc2NyeXB0AA8AAAAIAAAAAc2NyeXB0AA8AAAAIAAAAA"}',
    '{"msg":"oops","link":"https://x/reset-password?token=abcdefghijklmnopqrstuvwx"}',
    '{"level":"debug","msg":"mail written to outbox","link":"https://x/verify-email?token=abcdefghijklmnopqrstuvwx"}',
  ];
  const leaks = findLeaks(lines, new Set([secret]));
  assert.equal(leaks.map((l) => l.what).sort(), [
    'a PASETO access token',
    'a link carrying an email or reset token',
    'a password, token or hash field with a value',
    'a scrypt hash (base64 of "scrypt...")',
    'a secret a suite used',
  ]);
  assert.ok(
    leaks.every((l) => !l.line.includes(secret)),
    'the report does not repeat the secret',
  );
});

runAfterAllSuites(s, 'protection/zz-secret-scan.test.ts (after every other suite)');
