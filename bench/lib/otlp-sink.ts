import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in OTLP/HTTP collector: accepts every export (POST /v1/traces,
 * /v1/metrics, /v1/logs) and discards it, so the service pays the full cost
 * of producing and sending telemetry without a real backend. Counts what it
 * received, which proves the SDK was exporting during the run.
 */
export interface OtlpSink {
  endpoint: string;
  /** Span names are counted only for http/json exports (protobuf is not decoded). */
  stats(): {
    requests: number;
    bytes: number;
    paths: Record<string, number>;
    spans: number;
    spanNames: Record<string, number>;
  };
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const paths: Record<string, number> = {};
  let spans = 0;
  const spanNames: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const json = (req.headers['content-type'] ?? '').includes('json');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (json) chunks.push(c);
    });
    req.on('end', () => {
      if (json) countSpans(Buffer.concat(chunks).toString('utf8'));
      requests++;
      const p = (req.url ?? '/').split('?')[0] ?? '/';
      paths[p] = (paths[p] ?? 0) + 1;
      // An empty body is a valid (empty) ExportServiceResponse in protobuf
      // and JSON encodings alike.
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
      res.end();
    });
  });
  const countSpans = (text: string) => {
    try {
      const body = JSON.parse(text) as {
        resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ name?: string }> }> }>;
      };
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            spans++;
            const name = span.name ?? '?';
            spanNames[name] = (spanNames[name] ?? 0) + 1;
          }
        }
      }
    } catch {
      /* not a trace export */
    }
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats: () => ({ requests, bytes, paths: { ...paths }, spans, spanNames: { ...spanNames } }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
