import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mutation, query } from '../support/http.js';
import { dbRow } from '../support/pg.js';
import { parseMetrics, sampleValue, scrape } from '../support/prometheus.js';
import { rememberSecret } from '../support/secrets.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser, strongPassword, uniqueEmail } from '../support/users.js';

/**
 * /metrics as Prometheus scrapes it: every documented metric is
 * exposed with its type, each one moves when the thing it counts happens,
 * and METRICS_TOKEN guards the endpoint when set.
 */

const METRICS_TOKEN = 'metrics-scrape-token-for-tests-0123456789';

const s = suite<{ svc: TestService }>('metrics');
s.before(async (ctx) => {
  ctx.svc = await startService({
    LOCKOUT_THRESHOLD: '3',
    REFRESH_REUSE_GRACE_SECONDS: '0',
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMITS: JSON.stringify({ 'login.email': [100, 60], 'register.ip': [100, 60], 'refresh.ip': [2, 60] }),
    TRUST_PROXY: '1',
  });
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const EXPECTED_TYPES: Record<string, string> = {
  login_success_total: 'counter',
  login_failure_total: 'counter',
  rate_limit_exceeded_total: 'counter',
  active_users_total: 'gauge',
  request_latency_seconds: 'histogram',
  account_lockouts_total: 'counter',
  refresh_token_reuse_total: 'counter',
  security_events_total: 'counter',
};

s('exposes every documented metric with its type, as text/plain, never cached', async ({ svc }) => {
  const res = await fetch(`${svc.url}/metrics`);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.is(res.headers.get('cache-control'), 'no-store');
  const { types } = parseMetrics(await res.text());
  for (const [name, type] of Object.entries(EXPECTED_TYPES)) assert.is(types.get(name), type, name);
});

s(
  'login_success_total, login_failure_total{reason} and security_events_total{event_type} move with logins',
  async ({ svc }) => {
    const user = await createVerifiedUser(svc.url);
    rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
    const before = await scrape(svc.url);
    const ok = await mutation(svc.url, 'auth.login', { email: user.email, password: user.password });
    rememberSecret(ok.data.accessToken, ok.data.refreshToken);
    await mutation(svc.url, 'auth.login', { email: user.email, password: strongPassword() });
    await mutation(svc.url, 'auth.login', { email: uniqueEmail('nobody'), password: strongPassword() });
    const after = await scrape(svc.url);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    assert.is(delta('login_success_total'), 1);
    assert.is(delta('login_failure_total'), 2);
    assert.is(delta('security_events_total', { event_type: 'auth_success' }), 1);
    assert.is(delta('security_events_total', { event_type: 'auth_failure' }), 2);
    const reasons = parseMetrics(after)
      .samples.filter((x) => x.name === 'login_failure_total')
      .map((x) => x.labels.reason);
    assert.ok(
      reasons.every((r) => typeof r === 'string' && r.length > 0),
      'failures are labelled by reason',
    );
  },
);

s('account_lockouts_total counts a lockout (LOCKOUT_THRESHOLD=3)', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
  const before = await scrape(svc.url);
  for (let i = 0; i < 3; i++) await mutation(svc.url, 'auth.login', { email: user.email, password: strongPassword() });
  const after = await scrape(svc.url);
  assert.is(sampleValue(after, 'account_lockouts_total') - sampleValue(before, 'account_lockouts_total'), 1);
  assert.is(
    sampleValue(after, 'security_events_total', { event_type: 'account_lockout' }) -
      sampleValue(before, 'security_events_total', { event_type: 'account_lockout' }),
    1,
  );
});

s('refresh_token_reuse_total counts a replayed refresh token', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
  const before = await scrape(svc.url);
  const first = await mutation(
    svc.url,
    'auth.refresh',
    { refreshToken: user.tokens.refreshToken },
    { headers: { 'x-forwarded-for': '203.0.113.7' } },
  );
  assert.is(first.status, 200);
  rememberSecret(first.data.accessToken, first.data.refreshToken);
  const replay = await mutation(
    svc.url,
    'auth.refresh',
    { refreshToken: user.tokens.refreshToken },
    { headers: { 'x-forwarded-for': '203.0.113.8' } },
  );
  assert.is(replay.error?.data.appCode, 'REFRESH_TOKEN_REUSED');
  const after = await scrape(svc.url);
  assert.is(sampleValue(after, 'refresh_token_reuse_total') - sampleValue(before, 'refresh_token_reuse_total'), 1);
  const alert = svc.logs.find(
    (l) => l.includes('"msg":"SECURITY_ALERT"') && l.includes('"event_type":"refresh_token_reuse"'),
  );
  assert.ok(alert, 'a SECURITY_ALERT line');
});

s('rate_limit_exceeded_total{limit} counts refusals', async ({ svc }) => {
  const before = await scrape(svc.url);
  const from = { headers: { 'x-forwarded-for': '203.0.113.99' } };
  for (let i = 0; i < 4; i++) await mutation(svc.url, 'auth.refresh', { refreshToken: 'x'.repeat(64) }, from);
  const after = await scrape(svc.url);
  assert.is(
    sampleValue(after, 'rate_limit_exceeded_total', { limit: 'refresh.ip' }) -
      sampleValue(before, 'rate_limit_exceeded_total', { limit: 'refresh.ip' }),
    2,
  );
});

s('request_latency_seconds observes each request under a bounded route label', async ({ svc }) => {
  const before = await scrape(svc.url);
  await query(svc.url, 'health');
  await fetch(`${svc.url}/health/live`).then((r) => r.arrayBuffer());
  await fetch(`${svc.url}/no/such/path/${Date.now()}`).then((r) => r.arrayBuffer());
  const after = await scrape(svc.url);
  const count = (text: string, labels: Record<string, string>) =>
    sampleValue(text, 'request_latency_seconds_count', labels);
  assert.is(
    count(after, { route: '/trpc', method: 'GET', status: '200' }) -
      count(before, { route: '/trpc', method: 'GET', status: '200' }),
    1,
  );
  assert.is(count(after, { route: '/health/live' }) - count(before, { route: '/health/live' }), 1);
  assert.is(count(after, { route: 'other', status: '404' }) - count(before, { route: 'other', status: '404' }), 1);
  assert.not.ok(after.includes('/no/such/path'), 'unknown paths do not become labels');
  assert.ok(
    parseMetrics(after).samples.some((x) => x.name === 'request_latency_seconds_bucket' && x.labels.le === '+Inf'),
  );
});

s(
  'active_users_total is the number of active users in the database (read on the first scrape, then cached 30 s)',
  async () => {
    const fresh = await startService();
    try {
      const row = await dbRow<{ n: string }>('select count(*) as n from users where is_active');
      const text = await scrape(fresh.url);
      assert.is(sampleValue(text, 'active_users_total'), Number(row!.n));
      assert.ok(Number(row!.n) > 0);
    } finally {
      await fresh.close();
    }
  },
);

s('METRICS_TOKEN: /metrics needs the bearer token', async () => {
  const svc = await startService({ METRICS_TOKEN });
  try {
    const none = await fetch(`${svc.url}/metrics`);
    assert.is(none.status, 401);
    assert.is(none.headers.get('www-authenticate'), 'Bearer');
    assert.not.ok((await none.text()).includes('login_success_total'));
    const wrong = await fetch(`${svc.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` },
    });
    assert.is(wrong.status, 401);
    await wrong.arrayBuffer();
    const right = await scrape(svc.url, METRICS_TOKEN);
    assert.ok(right.includes('login_success_total'));
    // The probes stay open: a load balancer has no token.
    assert.is((await fetch(`${svc.url}/health/live`)).status, 200);
  } finally {
    await svc.close();
  }
});

s.run();
