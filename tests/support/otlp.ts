import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

/**
 * A loopback OTLP/HTTP receiver: what a collector sees. It accepts real
 * exports on POST /v1/traces, both http/protobuf (decoded with the
 * OpenTelemetry protobuf definitions generated from opentelemetry-proto, as
 * shipped by @opentelemetry/otlp-transformer) and http/json, and normalises
 * both into one span shape for assertions.
 */

// The otlp-transformer the SDK itself uses (0.2xx) only encodes; its 0.214
// release still ships the protobufjs code generated from the .proto files,
// with decoders. Installed under an alias (devDependency), test-only.
const require = createRequire(import.meta.url);
interface ProtoType {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
}
const protoRoot = require('otlp-transformer-protobuf/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: ProtoType } } } } };
};
const ExportTraceServiceRequest = protoRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface ReceivedSpan {
  protocol: OtlpProtocol;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  scope: string;
  resource: Record<string, unknown>;
}

interface OtlpKeyValue {
  key: string;
  value?: Record<string, unknown>;
}

function anyValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v && v.stringValue != null) return v.stringValue;
  if ('boolValue' in v && v.boolValue != null) return v.boolValue;
  if ('intValue' in v && v.intValue != null) return Number(v.intValue);
  if ('doubleValue' in v && v.doubleValue != null) return Number(v.doubleValue);
  if ('arrayValue' in v && v.arrayValue) {
    return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
  }
  return undefined;
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** Trace and span ids: bytes in protobuf, hex strings in OTLP/JSON. */
function hexId(id: unknown): string {
  if (id == null) return '';
  if (typeof id === 'string') return id.toLowerCase();
  return Buffer.from(id as Uint8Array).toString('hex');
}

function normalise(request: any, protocol: OtlpProtocol): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          protocol,
          traceId: hexId(s.traceId),
          spanId: hexId(s.spanId),
          parentSpanId: hexId(s.parentSpanId),
          name: s.name,
          kind: Number(s.kind ?? 0),
          attributes: attrs(s.attributes),
          status: { code: Number(s.status?.code ?? 0), ...(s.status?.message ? { message: s.status.message } : {}) },
          events: (s.events ?? []).map((e: { name: string; attributes?: OtlpKeyValue[] }) => ({
            name: e.name,
            attributes: attrs(e.attributes),
          })),
          scope: ss.scope?.name ?? '',
          resource,
        });
      }
    }
  }
  return spans;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Content types of the export requests received (to prove which protocol was used). */
  readonly contentTypes: string[] = [];
  private server?: http.Server;
  private waiters: Array<() => void> = [];
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const type = String(req.headers['content-type'] ?? '');
        this.contentTypes.push(type);
        try {
          if (type.startsWith('application/x-protobuf')) {
            const message = ExportTraceServiceRequest.decode(body);
            const plain = ExportTraceServiceRequest.toObject(message, { longs: String, enums: Number, arrays: true });
            this.spans.push(...normalise(plain, 'http/protobuf'));
            // An empty ExportTraceServiceResponse is zero bytes.
            res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
          } else if (type.startsWith('application/json')) {
            this.spans.push(...normalise(JSON.parse(body.toString('utf8')), 'http/json'));
            res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          } else {
            res.writeHead(415).end();
            return;
          }
        } catch {
          res.writeHead(400).end();
          return;
        }
        const w = this.waiters;
        this.waiters = [];
        w.forEach((f) => f());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** Waits until `probe` finds what it needs among the received spans; fails after `timeoutMs`. */
  async waitFor<T>(
    what: string,
    probe: (spans: ReceivedSpan[]) => T | undefined | null | false,
    timeoutMs = 15_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = probe(this.spans);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const names = [...new Set(this.spans.map((s) => s.name))].join(', ');
        throw new Error(`no spans for ${what} within ${timeoutMs} ms (received: ${names || 'none'})`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Every span of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }
}
