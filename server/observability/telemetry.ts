import { withTimeout } from '../timeout.js';

/**
 * The server's side of telemetry, API only: otel/register.ts (loaded before
 * the app with --import) owns the SDK and leaves a shutdown hook on
 * globalThis; the server may not import otel/, so this is how it asks for a
 * flush. Without the SDK (tests, no OTLP endpoint) it resolves at once.
 */
const SHUTDOWN = Symbol.for('secure-auth.telemetry.shutdown');

/** Exports buffered spans and stops the SDK; bounded so a dead collector cannot hold up exit. */
export async function flushTelemetry(timeoutMs = 5_000): Promise<void> {
  const hook = (globalThis as Record<symbol, unknown>)[SHUTDOWN];
  if (typeof hook !== 'function') return;
  const flush = Promise.resolve((hook as () => Promise<void>)());
  await withTimeout(flush, timeoutMs, 'telemetry flush').catch(() => undefined);
}
