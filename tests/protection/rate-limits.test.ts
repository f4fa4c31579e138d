import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyring } from '../../server/security/keyring.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query, type CallResult } from '../support/http.js';
import { dbRows } from '../support/pg.js';
import { sampleValue, scrape } from '../support/prometheus.js';
import { rememberSecret } from '../support/secrets.js';
import { baseTestEnv, startService, type TestService } from '../support/service.js';
import { hostPort, TcpProxy } from '../support/tcp-proxy.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';

/**
 * Rate limits as a client sees them: each rule trips at its configured
 * number (small numbers via RATE_LIMITS keep this fast), the refusal's code,
 * retryAfter and Retry-After, the audit event and metric, the client IP as
 * TRUST_PROXY resolves it, counts shared through the postgres store, and the
 * fail-closed / fail-open choice when that store is unreachable.
 */

const LIMITS = {
  'login.ip': [3, 60],
  'login.email': [2, 60],
  'register.ip': [2, 3600],
  'reset.ip': [3, 3600],
  'reset.email': [2, 3600],
  'refresh.ip': [3, 60],
  'default.ip': [4, 60],
} as const;

const limitedEnv = (extra: Record<string, string> = {}) => ({
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMITS: JSON.stringify(LIMITS),
  ...extra,
});

/** A fresh documentation-range address per call, so cases never share a counter. */
function freshIp(): string {
  const b = randomBytes(2);
  return `198.51.${b[0]}.${(b[1]! % 250) + 1}`;
}
const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

function assertRefused(res: CallResult, windowSeconds: number, what: string): void {
  assert.is(res.status, 429, `${what}: expected 429, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.is(res.error?.data.code, 'TOO_MANY_REQUESTS');
  assert.is(res.error?.data.appCode, 'RATE_LIMITED');
  const retryAfter = res.error?.data.retryAfter;
  assert.type(retryAfter, 'number');
  assert.ok(
    retryAfter! >= 1 && retryAfter! <= windowSeconds,
    `${what}: retryAfter ${retryAfter} within the ${windowSeconds} s window`,
  );
  // The window started with this case's first call, moments ago.
  assert.ok(retryAfter! >= windowSeconds - 10, `${what}: retryAfter ${retryAfter} is the rest of the window`);
  assert.is(res.headers.get('retry-after'), String(retryAfter), `${what}: Retry-After header equals data.retryAfter`);
  assert.not.ok(JSON.stringify(res.body).includes('stack'));
}

function assertAllowed(res: CallResult, what: string): void {
  assert.is.not(res.status, 429, `${what}: refused too early: ${JSON.stringify(res.body)}`);
}

interface LimitCase {
  rule: keyof typeof LIMITS;
  /** One call of the counted kind; `i` numbers the call, `ip` is the caller. */
  call(url: string, ip: string, i: number, shared: { email: string }): Promise<CallResult>;
  /** Calls come from a new IP each (email rules), so only the email is shared. */
  ipPerCall?: boolean;
}

const CASES: LimitCase[] = [
  {
    rule: 'login.ip',
    call: (url, ip) => mutation(url, 'auth.login', { email: uniqueEmail('rl'), password: strongPassword() }, from(ip)),
  },
  {
    rule: 'login.email',
    ipPerCall: true,
    // The email is normalised before it is counted: case and padding do not open a new bucket.
    call: (url, ip, i, s) =>
      mutation(
        url,
        'auth.login',
        { email: i % 2 ? `  ${s.email.toUpperCase()} ` : s.email, password: strongPassword() },
        from(ip),
      ),
  },
  {
    rule: 'register.ip',
    call: (url, ip) =>
      mutation(url, 'auth.register', { email: uniqueEmail('rl'), password: strongPassword() }, from(ip)),
  },
  {
    rule: 'reset.ip',
    call: (url, ip) => mutation(url, 'auth.requestPasswordReset', { email: uniqueEmail('rl') }, from(ip)),
  },
  {
    rule: 'reset.email',
    ipPerCall: true,
    // requestPasswordReset and resendVerification count in the same bucket.
    call: (url, ip, i, s) =>
      mutation(url, i % 2 ? 'auth.resendVerification' : 'auth.requestPasswordReset', { email: s.email }, from(ip)),
  },
  {
    rule: 'refresh.ip',
    call: (url, ip) => mutation(url, 'auth.refresh', { refreshToken: randomBytes(48).toString('base64url') }, from(ip)),
  },
  {
    rule: 'default.ip',
    // Every procedure without a rule of its own shares default.ip.
    call: (url, ip, i) =>
      i % 2
        ? query(url, 'auth.me', undefined, from(ip))
        : mutation(url, 'auth.logout', { refreshToken: randomBytes(48).toString('base64url') }, from(ip)),
  },
];

const s = suite<{ svc: TestService }>('rate limits');
s.before(async (ctx) => {
  // TRUST_PROXY=1: the loopback test client is the trusted proxy, so each
  // case can speak for its own client address.
  ctx.svc = await startService(limitedEnv({ TRUST_PROXY: '1' }));
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

for (const c of CASES) {
  s(
    `${c.rule} allows ${LIMITS[c.rule][0]} calls per ${LIMITS[c.rule][1]} s, then RATE_LIMITED with Retry-After`,
    async ({ svc }) => {
      const [points, seconds] = LIMITS[c.rule];
      const ip = freshIp();
      const shared = { email: uniqueEmail('rl-shared') };
      for (let i = 0; i < points; i++)
        assertAllowed(await c.call(svc.url, c.ipPerCall ? freshIp() : ip, i, shared), `${c.rule} call ${i + 1}`);
      assertRefused(
        await c.call(svc.url, c.ipPerCall ? freshIp() : ip, points, shared),
        seconds,
        `${c.rule} call ${points + 1}`,
      );
    },
  );
}

s(
  'reset.ip is one bucket for requestPasswordReset and resendVerification; resetPassword counts under token.ip',
  async ({ svc }) => {
    const ip = freshIp();
    assertAllowed(await mutation(svc.url, 'auth.requestPasswordReset', { email: uniqueEmail() }, from(ip)), 'request');
    assertAllowed(await mutation(svc.url, 'auth.resendVerification', { email: uniqueEmail() }, from(ip)), 'resend');
    const reset = await mutation(
      svc.url,
      'auth.resetPassword',
      { token: randomBytes(32).toString('base64url'), newPassword: strongPassword() },
      from(ip),
    );
    assert.is(reset.error?.data.appCode, 'INVALID_TOKEN');
    assertAllowed(
      await mutation(svc.url, 'auth.requestPasswordReset', { email: uniqueEmail() }, from(ip)),
      'third reset.ip call',
    );
    assertRefused(
      await mutation(svc.url, 'auth.resendVerification', { email: uniqueEmail() }, from(ip)),
      3600,
      'fourth reset.ip call',
    );
  },
);

s('a refused login is not attempted: the right password is refused too and no failure is counted', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url); // its login is the email's first call
  rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
  await mutation(svc.url, 'auth.login', { email: user.email, password: strongPassword() }, from(freshIp()));
  const refused = await mutation(
    svc.url,
    'auth.login',
    { email: user.email, password: user.password },
    from(freshIp()),
  );
  assertRefused(refused, 60, 'login.email with the right password');
  const [row] = await dbRows<{ failed_attempts: number }>('select failed_attempts from users where email = $1', [
    user.email,
  ]);
  assert.is(row?.failed_attempts, 1, 'the refused call never reached the credential check');
});

s(
  'a refusal writes one rate_limit_exceeded event per window (masked email, client IP) and counts every refusal',
  async ({ svc }) => {
    const email = uniqueEmail('zed');
    const before = await scrape(svc.url);
    for (let i = 0; i < 2; i++)
      await mutation(svc.url, 'auth.login', { email, password: strongPassword() }, from(freshIp()));
    const refusedFrom = [freshIp(), freshIp(), freshIp()];
    for (const ip of refusedFrom) {
      assertRefused(
        await mutation(svc.url, 'auth.login', { email, password: strongPassword() }, from(ip)),
        60,
        `refusal from ${ip}`,
      );
    }
    const after = await scrape(svc.url);
    const refusals = (text: string) => sampleValue(text, 'rate_limit_exceeded_total', { limit: 'login.email' });
    assert.is(refusals(after) - refusals(before), 3, 'every refusal is counted');

    const events = svc.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event_type === 'rate_limit_exceeded' && refusedFrom.includes(String(l.ip)));
    // Three refusals, one event: the first refusal of the window.
    assert.is(events.length, 1, 'one event per key and window');
    const event = events[0]!;
    assert.is(event.ip, refusedFrom[0]);
    assert.is(event.msg, 'SECURITY_EVENT');
    assert.is(event.severity, 'warning');
    assert.is(event.outcome, 'failure');
    assert.is(event.limit, 'login.email');
    assert.is(event.procedure, 'auth.login');
    assert.is(event.retry_after, 60);
    assert.is(event.email, 'z***@example.com');
    assert.match(String(event.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.not.ok(
      svc.logs.some((l) => l.includes(email)),
      'the plaintext email is never logged',
    );

    const rows = await dbRows<{ ip: string; details: Record<string, unknown>; severity: string; outcome: string }>(
      'select ip, details, severity, outcome from security_events where id = $1',
      [event.event_id],
    );
    assert.is(rows.length, 1, 'the event is also a row');
    assert.is(rows[0]!.ip, refusedFrom[0]);
    assert.is(rows[0]!.details.limit, 'login.email');
    assert.is(rows[0]!.details.email, 'z***@example.com');
    assert.is(rows[0]!.severity, 'warning');
    assert.is(sampleValue(after, 'security_events_total', { event_type: 'rate_limit_exceeded' }) >= 1, true);
  },
);

s('Express routes (/health*, /metrics, /.well-known/*) are never limited; tRPC calls are', async () => {
  const svc = await startService({
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMITS: JSON.stringify({ 'default.ip': [1, 60] }),
  });
  try {
    for (let i = 0; i < 8; i++) {
      for (const path of ['/health', '/health/live', '/health/ready', '/metrics', '/.well-known/paseto-keys']) {
        const res = await fetch(svc.url + path);
        assert.is(res.status, 200, `${path} call ${i + 1}`);
        assert.is(res.headers.get('retry-after'), null);
        await res.arrayBuffer();
      }
    }
    assertAllowed(await query(svc.url, 'auth.me'), 'first tRPC call');
    assertRefused(await query(svc.url, 'auth.me'), 60, 'second tRPC call');
  } finally {
    await svc.close();
  }
});

s('off in APP_ENV=test unless RATE_LIMIT_ENABLED=true', async () => {
  const svc = await startService({ RATE_LIMITS: JSON.stringify({ 'login.ip': [1, 60], 'default.ip': [1, 60] }) });
  try {
    assert.is(svc.config.rateLimitEnabled, false);
    for (let i = 0; i < 5; i++) {
      assertAllowed(
        await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }),
        `login ${i + 1}`,
      );
      assertAllowed(await query(svc.url, 'auth.me'), `me ${i + 1}`);
    }
  } finally {
    await svc.close();
  }
});

s('TRUST_PROXY=false: a spoofed X-Forwarded-For does not evade the IP limit', async () => {
  const svc = await startService(limitedEnv());
  try {
    for (let i = 0; i < 3; i++) {
      assertAllowed(
        await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(freshIp())),
        `login ${i + 1}`,
      );
    }
    assertRefused(
      await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(freshIp())),
      60,
      'spoofed 4th',
    );
    const event = svc.logs.map((l) => JSON.parse(l)).find((l) => l.event_type === 'rate_limit_exceeded');
    assert.is(event?.ip, '127.0.0.1', 'the socket address is the client');
  } finally {
    await svc.close();
  }
});

s(
  "TRUST_PROXY=1: the trusted hop's X-Forwarded-For is the client; spoofed entries before it change nothing",
  async ({ svc }) => {
    const a = freshIp();
    const b = freshIp();
    for (let i = 0; i < 3; i++)
      await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(a));
    // The client prepends forged addresses; the proxy appends the real one.
    assertRefused(
      await mutation(
        svc.url,
        'auth.login',
        { email: uniqueEmail(), password: strongPassword() },
        { headers: { 'x-forwarded-for': `${freshIp()}, ${a}` } },
      ),
      60,
      'forged prefix',
    );
    assertAllowed(
      await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(b)),
      'another client',
    );
    const event = svc.logs
      .map((l) => JSON.parse(l))
      .findLast((l) => l.event_type === 'rate_limit_exceeded' && l.limit === 'login.ip');
    assert.is(event?.ip, a);
  },
);

s('IPv6 clients are counted per /64: rotating the interface id does not evade the IP limit', async ({ svc }) => {
  const prefix = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
  const host = () => `${prefix}:${[0, 0, 0, 0].map(() => randomBytes(2).toString('hex')).join(':')}`;
  for (let i = 0; i < 3; i++) {
    assertAllowed(
      await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(host())),
      `login ${i + 1}`,
    );
  }
  assertRefused(
    await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(host())),
    60,
    'same /64',
  );
  const otherNet = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1`;
  assertAllowed(
    await mutation(svc.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(otherNet)),
    'another /64',
  );
});

s('postgres store: two instances share one count; emails are stored as keyed digests', async () => {
  const env = limitedEnv({ TRUST_PROXY: '1', RATE_LIMIT_STORE: 'postgres' });
  const one = await startService(env);
  const two = await startService(env);
  try {
    const ip = freshIp();
    assertAllowed(
      await mutation(one.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(ip)),
      'one #1',
    );
    assertAllowed(
      await mutation(two.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(ip)),
      'two #2',
    );
    assertAllowed(
      await mutation(one.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(ip)),
      'one #3',
    );
    assertRefused(
      await mutation(two.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(ip)),
      60,
      'two #4',
    );
    assertRefused(
      await mutation(one.url, 'auth.login', { email: uniqueEmail(), password: strongPassword() }, from(ip)),
      60,
      'one #5',
    );

    const email = uniqueEmail('rl-digest');
    await mutation(
      one.url,
      'auth.login',
      { email: ` ${email.toUpperCase()}`, password: strongPassword() },
      from(freshIp()),
    );
    await mutation(two.url, 'auth.login', { email, password: strongPassword() }, from(freshIp()));
    assertRefused(
      await mutation(one.url, 'auth.login', { email, password: strongPassword() }, from(freshIp())),
      60,
      'email shared',
    );

    const digest = new Keyring(baseTestEnv().SECRET_KEY!, []).lookupDigest('rate-limit-email', email);
    const rows = await dbRows<{ key: string; points: number }>('select key, points from rate_limits where key = $1', [
      `login.email:${digest}`,
    ]);
    assert.is(rows.length, 1, 'the email counter is keyed by its HMAC digest');
    assert.is(rows[0]!.points, 3);
    const local = email.split('@')[0]!;
    const leaks = await dbRows('select key from rate_limits where key like $1 or key like $2', [`%${local}%`, '%@%']);
    assert.is(leaks.length, 0, 'no address in the shared table');
  } finally {
    await one.close();
    await two.close();
    await one.deps.rateLimits?.close();
    await two.deps.rateLimits?.close();
  }
});

s(
  'store unreachable: credential procedures fail closed (UNAVAILABLE), others fail open, /health reports it',
  async () => {
    const db = hostPort(testGlobals().databaseUrl);
    const proxy = new TcpProxy(db.host, db.port);
    await proxy.start();
    const svc = await startService(
      { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_STORE: 'postgres' },
      { rateLimitStoreUrl: proxy.rewrite(testGlobals().databaseUrl) },
    );
    try {
      const user = await createVerifiedUser(svc.url);
      rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
      let health = await fetch(`${svc.url}/health`);
      assert.is(health.status, 200);
      assert.equal(await health.json(), { status: 'ok', checks: { database: 'ok', rateLimitStore: 'ok' } });

      await proxy.cut();
      const closed: Array<[string, unknown]> = [
        ['auth.login', { email: user.email, password: user.password }],
        ['auth.register', { email: uniqueEmail(), password: strongPassword() }],
        ['auth.requestPasswordReset', { email: user.email }],
        ['auth.resendVerification', { email: user.email }],
        ['auth.resetPassword', { token: randomBytes(32).toString('base64url'), newPassword: strongPassword() }],
      ];
      for (const [path, input] of closed) {
        const res = await mutation(svc.url, path, input);
        assert.is(res.status, 503, `${path} fails closed: ${JSON.stringify(res.body)}`);
        assert.is(res.error?.data.appCode, 'UNAVAILABLE');
        assert.not.match(JSON.stringify(res.body), /ECONNREFUSED|127\.0\.0\.1|rate_limits|stack/);
      }
      const me = await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken });
      assert.is(me.status, 200, 'auth.me (default.ip) fails open');
      const refresh = await mutation(svc.url, 'auth.refresh', { refreshToken: user.tokens.refreshToken });
      assert.is(refresh.status, 200, 'auth.refresh (refresh.ip) fails open');
      rememberSecret(refresh.data?.accessToken, refresh.data?.refreshToken);

      health = await fetch(`${svc.url}/health`);
      assert.is(health.status, 503);
      assert.equal(await health.json(), { status: 'error', checks: { database: 'ok', rateLimitStore: 'error' } });
      assert.ok(svc.logs.some((l) => l.includes('"rate-limit store unavailable"') && l.includes('"fails":"closed"')));

      await proxy.start();
      const back = await mutation(svc.url, 'auth.login', { email: user.email, password: user.password });
      assert.is(back.status, 200, `login works again: ${JSON.stringify(back.body)}`);
      rememberSecret(back.data?.accessToken, back.data?.refreshToken);
      health = await fetch(`${svc.url}/health`);
      assert.is(health.status, 200);
    } finally {
      await svc.close();
      await svc.deps.rateLimits?.close();
      await proxy.cut();
    }
  },
);

s.run();
