/**
 * OpenTelemetry bootstrap, loaded before the application with
 * `node --import tsx --import ./otel/register.ts server/main.ts`
 * (`npm start` and the Dockerfile do this). The SDK lives here and nowhere
 * else: the server only talks to `@opentelemetry/api`, which is a no-op
 * until this file registers a provider.
 *
 * Configured by the standard OTEL_* variables. Traces are exported with OTLP
 * over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-specific
 * endpoint) is set: http/protobuf by default, http/json with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json. With neither an endpoint nor
 * OTEL_TRACES_EXPORTER the SDK is not started at all, so an unconfigured
 * deployment pays nothing and never tries to reach a collector that is not
 * there. Metrics stay on prom-client (`/metrics`), logs on stdout: the SDK's
 * metric and log pipelines are off unless OTEL_METRICS_EXPORTER /
 * OTEL_LOGS_EXPORTER ask for them.
 */
import type { IncomingMessage } from 'node:http';
import type { Span } from '@opentelemetry/api';

const env = process.env;
const wanted = (name: string) => (env[name] ?? '').trim() !== '';
const exporting =
  (wanted('OTEL_EXPORTER_OTLP_ENDPOINT') ||
    wanted('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ||
    wanted('OTEL_TRACES_EXPORTER')) &&
  env.OTEL_TRACES_EXPORTER?.trim() !== 'none';

/** Paths whose spans are noise for a tracing backend (probes and scrapes). */
const UNTRACED = /^\/(health(\/live|\/ready)?|metrics)(\?|$)/;

/**
 * The span name and `http.route` of a server span, from what Express left on
 * the request: the mount (`/trpc`) and the matched route of a page, never the
 * raw URL, so an attacker's made-up paths cannot multiply span names.
 */
function nameByRoute(span: Span, request: unknown): void {
  const req = request as IncomingMessage & { baseUrl?: unknown; route?: { path?: unknown } };
  const route =
    (typeof req.baseUrl === 'string' ? req.baseUrl : '') + (typeof req.route?.path === 'string' ? req.route.path : '');
  if (!route) return;
  span.setAttribute('http.route', route);
  span.updateName(`${req.method ?? 'GET'} ${route}`);
}

if (exporting && env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true') {
  // Loaded only when exporting: an unconfigured deployment does not carry
  // the SDK (about 25 MiB) in memory at all.
  const [{ HttpInstrumentation }, { PgInstrumentation }, { NodeSDK }, { sanitizeSql }] = await Promise.all([
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/sdk-node'),
    import('./sanitize-sql.js'),
  ]);
  // Three spans per call, each one a reader needs: the HTTP server span, the
  // tRPC procedure and its queries. Express's own layers are not traced: its
  // instrumentation added two empty middleware spans to every call, an ESM
  // loader thread, and about 40% of tracing's CPU cost per `auth.me`
  // (measured with the bench; see docs/performance.md). The route it used
  // to provide is set from the request instead (nameByRoute).
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'secure-auth',
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.test(req.url ?? ''),
        // tRPC GET inputs and email links carry tokens in the query string:
        // never put their values on a span.
        redactedQueryParamsServer: ['input', 'token', 'refreshToken', 'accessToken', 'password'],
        applyCustomAttributesOnSpan: (span, request) => nameByRoute(span, request),
      }),
      new PgInstrumentation({
        // Bound values are password hashes, token digests and emails: never
        // on a span, neither as parameters nor inlined in the query text.
        enhancedDatabaseReporting: false,
        requestHook(span, { query }) {
          if (typeof query.text === 'string') span.setAttribute('db.query.text', sanitizeSql(query.text));
        },
        // Only queries made on behalf of a request: the outbox worker's polls
        // would otherwise be a root trace every few seconds.
        requireParentSpan: true,
        // Taking a pooled connection is not a query: no span of its own.
        ignoreConnectSpans: true,
      }),
    ],
    ...(wanted('OTEL_METRICS_EXPORTER') ? {} : { metricReaders: [] }),
    ...(wanted('OTEL_LOGS_EXPORTER') ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();

  // Flush buffered spans before the process ends. server/main.ts awaits the
  // hook (through server/observability/telemetry.ts) after draining requests;
  // the listeners below cover an exit that does not pass through it.
  let flushed: Promise<void> | undefined;
  const shutdown = () => (flushed ??= sdk.shutdown().catch(() => undefined));
  (globalThis as Record<symbol, unknown>)[Symbol.for('secure-auth.telemetry.shutdown')] = shutdown;
  process.once('beforeExit', () => void shutdown());
}
