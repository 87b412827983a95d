import 'reflect-metadata';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ValidationError, type EventEnvelope } from '@steward/contracts';
import { currentTraceparent, Logger, Metrics, promtoolCheckMetrics, startTracing, type Tracing } from '@steward/observability';
import { eventually, useTestEnvironment } from '@steward/testing';
import { publishEvent } from './event.publisher';
import { envelope, registryOf, startMicroservice } from './test.fixtures';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

const logLines: Record<string, unknown>[] = [];
const logger = new Logger({ service: 'probe', level: 'debug', write: (l) => logLines.push(JSON.parse(l)) });
const inside: Array<{ id: string; traceparent?: string }> = [];
let releaseSlow: () => void = () => undefined;
let slowGate = Promise.resolve();

@Controller()
class ProbeController {
  @EventPattern<string>('obs.happened')
  happened(@Payload() data: EventEnvelope): void {
    logger.info('handling', { event: data.id });
    inside.push({ id: data.id, traceparent: currentTraceparent() });
  }

  @EventPattern<string>('obs.rejected')
  rejected(): void {
    throw new ValidationError('bad payload', [{ path: 'n', message: 'too large' }]);
  }

  @EventPattern<string>('obs.slow')
  slow(): Promise<void> {
    return slowGate;
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('transport observability: spans, metrics, backlog', () => {
  const env = useTestEnvironment({ label: 'msgobs' });
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  const metrics = new Metrics('probe');
  let tracing: Tracing;

  beforeAll(() => {
    tracing = startTracing({ service: 'probe', spanProcessors: [processor], env: {} });
  });
  afterAll(() => tracing.shutdown());

  describe('with a running microservice', () => {
    const registry = registryOf('obs.happened', 'obs.rejected', 'obs.slow');
    let app: INestMicroservice;
    const publish = (e: EventEnvelope) => publishEvent(jetstream(env.nats.nc), env.nats.subjects, e, registry);
    const sample = async (name: string, labels: Record<string, string>) =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    const spans = async (): Promise<ReadableSpan[]> => (await processor.forceFlush(), exporter.getFinishedSpans());

    beforeAll(async () => {
      ({ app } = await startMicroservice(ProbeModule, {
        natsUrl: env.nats.url,
        subjects: env.nats.subjects,
        service: 'probe',
        registry,
        logger,
        metrics,
        backlogIntervalMs: 100,
        consumers: [{ stream: 'EVENTS', filter: env.nats.subjects.category('obs'), ackWaitMs: 5_000, backoffMs: [50] }],
      }));
    });
    afterAll(() => app?.close());

    it('handles a message in a consumer span continued from its traceparent header', async () => {
      const e = envelope('obs.happened', { n: 1 }, { traceparent: TRACEPARENT });
      await publish(e);
      await eventually(() => expect(inside.map((i) => i.id)).toContain(e.id));
      const span = await eventually(async () => {
        const found = (await spans()).find((s) => s.attributes['messaging.message.id'] === e.id);
        expect(found).toBeDefined();
        return found!;
      });
      expect(span.name).toBe('process obs.happened');
      expect(span.kind).toBe(SpanKind.CONSUMER);
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
      expect(span.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.consumer.group.name': 'probe', 'steward.outcome': 'success' });
      // The handler's own context: what it appends or sends carries this span.
      expect(inside.find((i) => i.id === e.id)!.traceparent).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
      expect(logLines.find((l) => l.msg === 'handling' && l.event === e.id)?.trace_id).toBe(TRACE_ID);
    });

    it('counts handled messages and dead letters by consumer, type, outcome and reason', async () => {
      const ok = envelope('obs.happened', { n: 2 });
      const bad = envelope('obs.rejected', { n: 3 }, { traceparent: TRACEPARENT });
      await publish(ok);
      await publish(bad);
      // A poison body: not an envelope at all, with an unvalidated type header.
      const h = natsHeaders();
      h.set('Steward-Type', 'attacker.chosen');
      await jetstream(env.nats.nc).publish(env.nats.subjects.event('obs.happened'), 'not json', { headers: h });

      await eventually(async () => {
        expect(await sample('steward_messages_handled_total', { consumer: 'probe', type: 'obs.happened', outcome: 'success' })).toBe(2);
        expect(await sample('steward_messages_handled_total', { consumer: 'probe', type: 'obs.rejected', outcome: 'dead_letter' })).toBe(1);
        expect(await sample('steward_messages_handled_total', { consumer: 'probe', type: 'unknown', outcome: 'dead_letter' })).toBe(1);
        expect(await sample('steward_dead_letters_total', { consumer: 'probe', reason: 'permanent_error' })).toBe(1);
        expect(await sample('steward_dead_letters_total', { consumer: 'probe', reason: 'invalid_envelope' })).toBe(1);
      });
      expect(await sample('steward_handler_duration_seconds', { consumer: 'probe', type: 'obs.happened', outcome: 'success', le: '+Inf' })).toBe(2);
      const failed = (await spans()).find((s) => s.attributes['messaging.message.id'] === bad.id)!;
      expect(failed.status.code).toBe(SpanStatusCode.ERROR);
      expect(failed.spanContext().traceId).toBe(TRACE_ID);
      expect(await metrics.render()).not.toContain('attacker.chosen');
    });

    it('reports the consumer backlog: waiting and unacknowledged messages', async () => {
      slowGate = new Promise((resolve) => (releaseSlow = resolve));
      for (let n = 0; n < 3; n++) await publish(envelope('obs.slow', { n }));
      // Concurrency 1: one handler holds its message, two wait in the stream.
      await eventually(async () => {
        expect(await sample('steward_consumer_ack_pending', { consumer: 'probe' })).toBe(1);
        expect(await sample('steward_consumer_pending', { consumer: 'probe' })).toBe(2);
      });
      releaseSlow();
      await eventually(async () => {
        expect(await sample('steward_consumer_ack_pending', { consumer: 'probe' })).toBe(0);
        expect(await sample('steward_consumer_pending', { consumer: 'probe' })).toBe(0);
      });
    });

    it('renders metrics that pass promtool check metrics', async () => {
      const lint = await promtoolCheckMetrics(await metrics.render());
      if ('skipped' in lint) return;
      expect(lint.output).toBe('');
      expect(lint.ok).toBe(true);
    });
  });
});
