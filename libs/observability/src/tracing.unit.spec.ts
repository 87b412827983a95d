import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { currentTraceparent, Logger, startTracing, withMessageSpan, type Tracing } from './index';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

function capture() {
  const lines: Record<string, any>[] = [];
  return { lines, logger: new Logger({ service: 'probe', write: (l) => lines.push(JSON.parse(l)) }) };
}

describe('tracing with spans recorded', () => {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  let tracing: Tracing;
  // The processor hands ended spans to the exporter asynchronously.
  const finished = async () => (await processor.forceFlush(), exporter.getFinishedSpans());

  beforeAll(() => {
    tracing = startTracing({ service: 'probe', spanProcessors: [processor], env: {} });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  it('continues the trace of an incoming traceparent as a child span', async () => {
    expect(tracing.recording).toBe(true);
    const inside = await withMessageSpan('run.started process', TRACEPARENT, { 'messaging.system': 'nats' }, () => currentTraceparent());
    const [span] = await finished();
    expect(span!.name).toBe('run.started process');
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(span!.attributes['messaging.system']).toBe('nats');
    // What the handler puts into the events it appends: same trace, this span as parent.
    expect(inside).toBe(`00-${TRACE_ID}-${span!.spanContext().spanId}-01`);
  });

  it('fills the log trace_id from the active span, and only inside it', async () => {
    const { lines, logger } = capture();
    await withMessageSpan('m', TRACEPARENT, {}, () => logger.info('inside'));
    logger.info('outside');
    expect(lines[0]!.trace_id).toBe(TRACE_ID);
    expect(lines[1]!.trace_id).toBeUndefined();
    expect(currentTraceparent()).toBeUndefined();
  });

  it('starts a new trace without a traceparent and marks a failing handler', async () => {
    await expect(withMessageSpan('m', undefined, {}, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const [span] = await finished();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'boom' });
  });
});

describe('tracing without an exporter', () => {
  it('records nothing but still passes an incoming trace on to logs and outgoing messages', async () => {
    const tracing = startTracing({ service: 'probe', env: {} });
    try {
      expect(tracing.recording).toBe(false);
      const { lines, logger } = capture();
      const inside = await withMessageSpan('m', TRACEPARENT, {}, () => {
        logger.info('inside');
        return currentTraceparent();
      });
      expect(inside).toBe(TRACEPARENT);
      expect(lines[0]!.trace_id).toBe(TRACE_ID);
    } finally {
      await tracing.shutdown();
    }
  });
});
