import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { toPublicError } from '../../public-error.js';
import { t } from '../init.js';

// The API's tracer is a proxy: it stays a no-op until otel/register.ts has
// registered the SDK, and needs no reference to it.
const tracer = trace.getTracer('secure-auth.trpc');

/**
 * One span per procedure call, `trpc <path>`, active while the procedure
 * runs, so database spans and security events (`security.<type>`) land
 * under it. Outermost middleware: it sees the final, mapped error.
 * Attributes name the procedure and the user, never an input value.
 */
export const tracing = t.middleware(({ path, type, next }) =>
  tracer.startActiveSpan(
    `trpc ${path}`,
    { kind: SpanKind.INTERNAL, attributes: { 'rpc.system': 'trpc', 'rpc.method': path, 'rpc.trpc.type': type } },
    async (span) => {
      try {
        const result = await next();
        if (result.ok) {
          // Login and refresh learn the user only from their result.
          const userId = (result.data as { user?: { id?: unknown } } | null | undefined)?.user?.id;
          if (typeof userId === 'string') span.setAttribute('enduser.id', userId);
        } else {
          const { data } = toPublicError(result.error);
          span.setAttributes({
            'error.type': data.appCode,
            'app.code': data.appCode,
            'rpc.trpc.error_code': result.error.code,
          });
          // The app code, not the message: messages are for clients.
          span.setStatus({ code: SpanStatusCode.ERROR, message: data.appCode });
        }
        return result;
      } finally {
        span.end();
      }
    },
  ),
);
