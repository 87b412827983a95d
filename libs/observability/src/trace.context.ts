import { isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

// Only @opentelemetry/api here: without a started SDK every call is a cheap no-op.
const TRACER = '@steward/observability';

/**
 * Runs `fn` in a span continued from a W3C `traceparent` (from a NATS header
 * or event metadata), so one run is one trace across services. Without a
 * traceparent the span starts a new trace. Errors mark the span and rethrow.
 */
export function withMessageSpan<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
  return trace.getTracer(TRACER).startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * The active span as a W3C traceparent, for event metadata and NATS headers;
 * undefined outside any trace. Formatted by hand so it works whichever
 * propagator is registered.
 */
export function currentTraceparent(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  if (!ctx || !isSpanContextValid(ctx)) return undefined;
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The active trace id, for the `trace_id` log field. */
export function currentTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && isSpanContextValid(ctx) ? ctx.traceId : undefined;
}
