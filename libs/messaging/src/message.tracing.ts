import { isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

// Only the OpenTelemetry API: without an SDK started by the service (see
// startTracing in @steward/observability) every call here is a no-op.
const tracer = () => trace.getTracer('@steward/messaging');

/** Runs `fn` in a consumer span continued from the message's W3C traceparent, if it has one. */
export function inMessageSpan<T>(name: string, traceparent: string | undefined, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
  return tracer().startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

/** Marks the active span failed; the message itself is settled elsewhere (nak, DLQ). */
export function recordSpanError(err: unknown): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** The active span as a W3C traceparent, so what a handler sends continues its trace. */
export function activeTraceparent(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  if (!ctx || !isSpanContextValid(ctx)) return undefined;
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
