import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../server/db/embedded-postgres.js';
import { testGlobals } from '../support/globals.js';
import { mutation, query } from '../support/http.js';
import { OtlpReceiver, type OtlpProtocol, type ReceivedSpan } from '../support/otlp.js';
import { rememberSecret } from '../support/secrets.js';
import { baseTestEnv } from '../support/service.js';
import { createVerifiedUser, strongPassword } from '../support/users.js';

/**
 * Tracing end to end: the service runs as `npm start` does (otel/register.ts
 * loaded with --import before server/main.ts) in a child process, because
 * the SDK is process-global, and exports real OTLP to a loopback receiver.
 * Once over http/protobuf (the default) with a short batch delay, once over
 * http/json with a batch delay longer than the test, so those spans can only
 * arrive through the flush on shutdown.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SPAN_SERVER = 2;

interface TracedService {
  url: string;
  child: ChildProcess;
  logs: string[];
  exited: Promise<number | null>;
}

async function startTraced(
  receiver: OtlpReceiver,
  protocol: OtlpProtocol,
  batchDelayMs: number,
): Promise<TracedService> {
  const port = await freePort();
  const env: Record<string, string> = {};
  // The parent's environment minus any OpenTelemetry setting of the machine running the tests.
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OTEL_')) env[k] = v;
  Object.assign(env, baseTestEnv(), {
    PORT: String(port),
    DATABASE_URL: testGlobals().databaseUrl,
    OTEL_SERVICE_NAME: 'secure-auth-under-test',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_BSP_SCHEDULE_DELAY: String(batchDelayMs),
  });
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './otel/register.ts', 'server/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let stderr = '';
  let buffered = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        logs.push(line);
        // Kept for the end-of-run secret scan, like every in-process service's log.
        testGlobals().logLines.push(line);
        if (line.includes('"msg":"listening"')) resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) =>
      reject(new Error(`traced service exited (${code}) before listening: ${stderr.slice(-2000)}`)),
    );
    setTimeout(
      () => reject(new Error(`traced service not listening after 60 s: ${stderr.slice(-2000)}`)),
      60_000,
    ).unref();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await listening;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, child, logs, exited };
}

function traceparent(): { header: string; traceId: string; parentId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${parentId}-01`, traceId, parentId };
}

/** Walks parent links up from `span` within its trace. */
function ancestors(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const byId = new Map(spans.filter((s) => s.traceId === span.traceId).map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  for (let p = byId.get(span.parentSpanId); p && chain.length < 50; p = byId.get(p.parentSpanId)) chain.push(p);
  return chain;
}

interface Scenario {
  userId: string;
  /** Values no span may carry: the email, passwords, tokens. */
  secrets: string[];
  login: ReturnType<typeof traceparent>;
  failed: ReturnType<typeof traceparent>;
  me: ReturnType<typeof traceparent>;
}

/** The calls whose spans the assertions look for. */
async function drive(svc: TracedService): Promise<Scenario> {
  const user = await createVerifiedUser(svc.url);
  rememberSecret(user.password, user.tokens.accessToken, user.tokens.refreshToken);
  const login = traceparent();
  const ok = await mutation(
    svc.url,
    'auth.login',
    { email: user.email, password: user.password },
    { headers: { traceparent: login.header } },
  );
  assert.is(ok.status, 200);
  rememberSecret(ok.data.accessToken, ok.data.refreshToken);
  const failed = traceparent();
  const bad = await mutation(
    svc.url,
    'auth.login',
    { email: user.email, password: strongPassword() },
    { headers: { traceparent: failed.header } },
  );
  assert.is(bad.error?.data.appCode, 'INVALID_CREDENTIALS');
  const me = traceparent();
  const who = await query(svc.url, 'auth.me', undefined, {
    token: ok.data.accessToken,
    headers: { traceparent: me.header },
  });
  assert.is(who.status, 200);
  const secrets = [
    user.email,
    user.password,
    user.tokens.accessToken,
    user.tokens.refreshToken,
    ok.data.accessToken,
    ok.data.refreshToken,
  ];
  return { userId: ok.data.user.id, secrets, login, failed, me };
}

async function assertTraces(
  receiver: OtlpReceiver,
  svc: TracedService,
  sc: Scenario,
  protocol: OtlpProtocol,
): Promise<void> {
  const trpcSpan = (tp: { traceId: string }, name: string) =>
    receiver.waitFor(`${name} in trace ${tp.traceId}`, (spans) => {
      const found = spans.find((s) => s.traceId === tp.traceId && s.name === name);
      // Wait for the whole request: its server span ends last.
      return found && spans.some((s) => s.traceId === tp.traceId && s.kind === SPAN_SERVER) ? found : undefined;
    });

  // A successful login: the caller's trace continues through the HTTP span to the procedure and the database.
  const login = await trpcSpan(sc.login, 'trpc auth.login');
  assert.is(login.protocol, protocol);
  assert.is(login.attributes['rpc.system'], 'trpc');
  assert.is(login.attributes['rpc.method'], 'auth.login');
  assert.is(login.attributes['enduser.id'], sc.userId);
  assert.is.not(login.status.code, 2);
  assert.is(login.resource['service.name'], 'secure-auth-under-test');
  assert.ok(
    login.events.some((e) => e.name === 'security.auth_success'),
    'the security event is on the procedure span',
  );

  const trace = receiver.trace(sc.login.traceId);
  const server = trace.find((s) => s.kind === SPAN_SERVER && s.scope === '@opentelemetry/instrumentation-http');
  assert.ok(server, 'an HTTP server span');
  assert.is(server!.parentSpanId, sc.login.parentId, 'the incoming traceparent is the parent');
  // Named by its route (the tRPC mount), not by the raw URL a caller chose.
  assert.is(server!.name, 'POST /trpc');
  assert.is(server!.attributes['http.route'], '/trpc');
  assert.is(login.parentSpanId, server!.spanId, 'the trpc span is a child of the HTTP server span');
  const kinds = trace.filter((s) => s !== server && s.scope !== 'secure-auth.trpc' && !s.name.startsWith('pg.query'));
  assert.equal(
    kinds.map((s) => s.name),
    [],
    'nothing but the server span, the procedure and its queries (no middleware or pool-connect spans)',
  );
  const queries = trace.filter((s) => s.scope === '@opentelemetry/instrumentation-pg' && s.name.startsWith('pg.query'));
  assert.ok(queries.length >= 2, `database spans in the login trace (got ${queries.length})`);
  for (const q of queries) {
    assert.ok(ancestors(q, trace).includes(login), `${q.name} is a descendant of trpc auth.login`);
    assert.is(q.attributes['db.system.name'] ?? q.attributes['db.system'], 'postgresql');
  }
  assert.ok(
    queries.some((q) => q.parentSpanId === login.spanId),
    'a query directly under the procedure span',
  );
  // No bound value (hashes, digests) is put on a span.
  assert.not.ok(JSON.stringify(trace).includes('c2NyeXB0'), 'no password hash on any span');

  // A failed login: error status with the app code.
  const failed = await trpcSpan(sc.failed, 'trpc auth.login');
  assert.is(failed.status.code, 2);
  assert.is(failed.status.message, 'INVALID_CREDENTIALS');
  assert.is(failed.attributes['app.code'], 'INVALID_CREDENTIALS');
  assert.is(failed.attributes['error.type'], 'INVALID_CREDENTIALS');

  // An authenticated call names its user once the token is checked.
  const me = await trpcSpan(sc.me, 'trpc auth.me');
  assert.is(me.attributes['enduser.id'], sc.userId);
  assert.is(me.attributes['rpc.method'], 'auth.me');

  // The security event's log line carries the trace id.
  const line = svc.logs
    .map((l) => JSON.parse(l))
    .find((l) => l.event_type === 'auth_success' && l.trace_id === sc.login.traceId);
  assert.ok(line, 'auth_success log line with the trace id');
  assert.is(line.user_id, sc.userId);

  // Nothing in any exported span (registration and verification included)
  // carries the email, a password, a token or a hash: MikroORM inlines
  // values into its SQL, and otel/ strips every literal from db.query.text.
  const exported = JSON.stringify(receiver.spans);
  assert.not.ok(exported.includes('v4.public.'), 'no access token on a span');
  assert.not.ok(exported.includes('c2NyeXB0'), 'no password hash on a span');
  for (const secret of sc.secrets) assert.not.ok(exported.includes(secret), `no ${secret.slice(0, 4)}… on a span`);
  const statements = receiver.spans
    .map((x) => x.attributes['db.query.text'])
    .filter((t): t is string => typeof t === 'string');
  assert.ok(
    statements.some((t) => /insert into "?users"?/i.test(t)),
    'the registration insert is traced',
  );
  for (const t of statements)
    assert.not.ok(t.replaceAll("'?'", '').includes("'"), `every literal is redacted: ${t.slice(0, 120)}`);
}

interface Ctx {
  proto: { receiver: OtlpReceiver; svc: TracedService };
  json: { receiver: OtlpReceiver; svc: TracedService };
}

async function launch(protocol: OtlpProtocol, batchDelayMs: number) {
  const receiver = new OtlpReceiver();
  await receiver.start();
  return { receiver, svc: await startTraced(receiver, protocol, batchDelayMs) };
}

const s = suite<Ctx>('telemetry (OTLP export from a child process)');
s.before(async (ctx) => {
  // Both services start together: start-up (transpile, migrations check) dominates this suite.
  // The json one's batch delay outlasts the suite: only the shutdown flush can deliver its spans.
  const [proto, json] = await Promise.allSettled([launch('http/protobuf', 100), launch('http/json', 600_000)]);
  if (proto.status === 'rejected' || json.status === 'rejected') {
    for (const r of [proto, json]) if (r.status === 'fulfilled') r.value.svc.child.kill('SIGKILL');
    throw proto.status === 'rejected' ? proto.reason : (json as PromiseRejectedResult).reason;
  }
  ctx.proto = proto.value;
  ctx.json = json.value;
});
s.after(async (ctx) => {
  for (const side of [ctx.proto, ctx.json]) {
    if (!side) continue;
    if (side.svc.child.exitCode === null) side.svc.child.kill('SIGTERM');
    await side.svc.exited;
    await side.receiver.stop();
  }
});

s(
  'http/protobuf (default protocol): spans, attributes, parent-child links to pg, propagated trace id',
  async ({ proto: { receiver, svc } }) => {
    const sc = await drive(svc);
    await assertTraces(receiver, svc, sc, 'http/protobuf');
    assert.ok(receiver.contentTypes.length > 0);
    assert.ok(receiver.contentTypes.every((t) => t.startsWith('application/x-protobuf')));
  },
);

s('http/json: same spans, delivered by the flush on shutdown', async ({ json: { receiver, svc } }) => {
  const sc = await drive(svc);
  assert.is(receiver.spans.length, 0, 'nothing exported before shutdown');
  svc.child.kill('SIGTERM');
  assert.is(await svc.exited, 0, 'clean exit on SIGTERM');
  assert.ok(svc.logs.some((l) => l.includes('"msg":"stopped"')));
  await assertTraces(receiver, svc, sc, 'http/json');
  assert.ok(receiver.contentTypes.every((t) => t.startsWith('application/json')));
});

s.run();
