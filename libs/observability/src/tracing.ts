import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';

export interface TracingOptions {
  /** `service.name` of every span. */
  service: string;
  /** Extra processors, e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests. */
  spanProcessors?: SpanProcessor[];
  /** Where OTEL_* variables are read; process.env by default. */
  env?: Record<string, string | undefined>;
}

export interface Tracing {
  /** True when spans are recorded and exported somewhere; false means context propagation only. */
  readonly recording: boolean;
  /** Flushes pending spans and unregisters everything, so tracing can be started again (tests). */
  shutdown(): Promise<void>;
}

/** Health and scrape traffic every few seconds: spans for it would bury the real requests. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

let started: Tracing | undefined;

/**
 * Starts OpenTelemetry for this process. Call it before anything loads `pg`
 * or `http`: instrumentations patch modules as they are required, so a
 * service's main.ts imports a tiny `tracing.bootstrap.ts` that calls this
 * FIRST (or run `node -r <that file>`). Nest is ESM loaded through
 * require(esm); the http instrumentation still sees its server because it
 * patches `http.Server.prototype.emit`, and `pg` is CommonJS required from
 * our own CommonJS output, so the require hook patches it.
 *
 * Spans are recorded only with an exporter (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or explicit `spanProcessors`. Without
 * either, only the context manager and the W3C propagator are registered: an
 * incoming traceparent still flows into logs and outgoing messages, and the
 * SDK (about 200 ms of start-up) is never loaded.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (started) return started;
  const env = options.env ?? process.env;
  if (/^(true|1)$/i.test(env.OTEL_SDK_DISABLED ?? '')) return (started = { recording: false, shutdown: async () => void (started = undefined) });
  const exportTo = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const processors = options.spanProcessors ?? [];
  started = processors.length === 0 && !exportTo ? propagationOnly() : startSdk(options, processors, Boolean(exportTo));
  return started;
}

/** Flushes and stops whatever startTracing started; bootstrapService calls it before the process exits. */
export async function stopTracing(): Promise<void> {
  await started?.shutdown();
}

// Everything below is required lazily: a process that never starts tracing
// (the CLI, tests) should not load it, and one that records no spans should
// not load the SDK, the instrumentations or the exporter.

function propagationOnly(): Tracing {
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    recording: false,
    shutdown: async () => {
      context.disable();
      propagation.disable();
      started = undefined;
    },
  };
}

function startSdk(options: TracingOptions, extraProcessors: SpanProcessor[], exportOtlp: boolean): Tracing {
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const instrumentations = [
    new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => PROBE_PATHS.has((req.url ?? '').split('?')[0]!) }),
    // requireParentSpan: pool housekeeping and the relay's idle polling outside any request are noise.
    new PgInstrumentation({ requireParentSpan: true }),
  ];
  // The exporter reads endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*; given as
  // `traceExporter`, the SDK batches it by OTEL_BSP_*. Extra processors replace that path.
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const exporter = exportOtlp ? new OTLPTraceExporter() : undefined;
  const spans =
    extraProcessors.length === 0
      ? { traceExporter: exporter! }
      : { spanProcessors: [...extraProcessors, ...(exporter ? [new BatchSpanProcessor({ exporter })] : [])] };
  const sdk = new NodeSDK({
    serviceName: options.service,
    ...spans,
    instrumentations,
    textMapPropagator: new W3CTraceContextPropagator(),
    // Metrics and logs have their own paths (Prometheus, stdout); without these the SDK defaults to OTLP for both.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return {
    recording: true,
    shutdown: async () => {
      started = undefined;
      await sdk.shutdown().catch(() => undefined);
      for (const i of instrumentations) i.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
