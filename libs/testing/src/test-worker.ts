import { AckPolicy, jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { StepError, Subjects } from '@steward/contracts';
import { CommandBus, decodeEnvelope } from '@steward/messaging';

export interface Job {
  runId: string;
  stepId: string;
  attempt: number;
  input: { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  spec: Record<string, unknown>;
}

export type Outcome = { status: 'succeeded'; outputs: Record<string, unknown> } | { status: 'failed'; error: StepError } | { status: 'hang' };

export const succeed = (outputs: Record<string, unknown> = {}): Outcome => ({ status: 'succeeded', outputs });
export const fail = (code = 'http_503', retryable = true): Outcome => ({ status: 'failed', error: { code, message: `failed with ${code}`, retryable } });

/**
 * A stand-in task worker for executor tests (in-process or e2e), shaped like
 * a team's worker built with the SDK, without the child-process isolation:
 * consumes `step.queued` routed `task-<queue>` (durable `worker-<queue>`),
 * reports start and result as commands. Idempotent by attempt: a
 * redelivered step.queued for an attempt it already ran does not run the
 * side effect again. `effects` counts side effects per runId:stepId,
 * outside the executor.
 */
export class TestWorker {
  readonly effects = new Map<string, number>();
  readonly jobs: Job[] = [];
  private readonly done = new Set<string>();
  private readonly bus: CommandBus;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    readonly queue: string,
    private readonly behave: (job: Job) => Outcome | Promise<Outcome> = () => succeed(),
  ) {
    this.bus = new CommandBus(nc, subjects);
  }

  async start(): Promise<this> {
    const jsm = await jetstream(this.nc).jetstreamManager();
    const stream = this.subjects.stream('EVENTS');
    const durable = `worker-${this.queue}`;
    await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: this.subjects.event('step.queued', `task-${this.queue}`), ack_wait: 30_000_000_000 });
    const consumer = await jetstream(this.nc).consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: 100 });
    this.messages = messages;
    this.loop = (async () => {
      const inFlight = new Set<Promise<void>>();
      for await (const msg of messages) {
        const p = this.handle(msg).catch(() => msg.nak(200));
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await Promise.all(inFlight);
    })();
    return this;
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
    await this.bus.close();
  }

  report(name: 'report_step_started' | 'report_step_result' | 'heartbeat_step', payload: Record<string, unknown>): Promise<unknown> {
    // A tiny timeout: the worker only needs the command stored, not its outcome.
    return this.bus.send('executor', name, payload, { timeoutMs: 1, actor: `worker:${this.queue}` });
  }

  private async handle(msg: JsMsg): Promise<void> {
    const job = decodeEnvelope(msg).data as Job;
    const key = `${job.runId}:${job.stepId}:${job.attempt}`;
    if (this.done.has(key)) return msg.ack();
    this.jobs.push(job);
    const ids = { runId: job.runId, stepId: job.stepId, attempt: job.attempt };
    await this.report('report_step_started', { ...ids, workerId: `test-${this.queue}` });
    const outcome = await this.behave(job);
    if (outcome.status === 'hang') {
      this.done.add(key);
      return msg.ack();
    }
    const effect = `${job.runId}:${job.stepId}`;
    this.effects.set(effect, (this.effects.get(effect) ?? 0) + 1);
    this.done.add(key);
    await this.report('report_step_result', { ...ids, outcome, usage: { cpuMs: 1, maxRssKb: 1000, wallMs: 2 } });
    msg.ack();
  }
}
