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
import { register } from 'node:module';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { sanitizeSql } from './sanitize-sql.js';

const env = process.env;
const wanted = (name: string) => (env[name] ?? '').trim() !== '';
const exporting =
  (wanted('OTEL_EXPORTER_OTLP_ENDPOINT') ||
    wanted('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ||
    wanted('OTEL_TRACES_EXPORTER')) &&
  env.OTEL_TRACES_EXPORTER?.trim() !== 'none';

/** Paths whose spans are noise for a tracing backend (probes and scrapes). */
const UNTRACED = /^\/(health(\/live|\/ready)?|metrics)(\?|$)/;

if (exporting && env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true') {
  // The application is ESM: modules it `import`s (express) are only seen by
  // the instrumentations through import-in-the-middle's loader hook. CommonJS
  // requires (pg under knex, node:http under express) are patched by
  // require-in-the-middle. Only the hooked packages are wrapped, so no other
  // module pays for (or can be broken by) the loader.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: ['express'] },
  });

  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'secure-auth',
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.test(req.url ?? ''),
        // tRPC GET inputs and email links carry tokens in the query string:
        // never put their values on a span.
        redactedQueryParamsServer: ['input', 'token', 'refreshToken', 'accessToken', 'password'],
      }),
      // Router layers (the health, keys and metrics routers every tRPC call
      // passes through) and the header/parsing middleware every request runs
      // are empty spans that only cost CPU on the hot path (4 of 9 spans per
      // auth.me). The request log and tRPC mount layers stay: they show where
      // a request went.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.ROUTER],
        ignoreLayers: ['requestId', 'helmetMiddleware', 'corsMiddleware', 'jsonParser'].map(
          (name) => `middleware - ${name}`,
        ),
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
