import type { EventData, EventEnvelope, StepQueued } from '@steward/contracts';
import type { Logger, Metrics } from '@steward/observability';
import { SecretMissingError, type EnvironmentProfileResolver } from './environment.profile';
import type { HandlerRegistration } from './handler.load';
import type { StepCommandPublisher } from './step-command.publisher';
import { runIsolated, type AbortReason, type AttemptReport, type IsolatedAttempt } from './task.isolate';
import type { AttemptIdentity, AttemptOutcome } from './task.protocol';

export interface AttemptSettings {
  workerId: string;
  commands: StepCommandPublisher;
  logger: Logger;
  handlers: ReadonlyMap<string, HandlerRegistration>;
  profiles: EnvironmentProfileResolver;
  metrics?: Metrics;
  killGraceMs?: number;
  sampleIntervalMs?: number;
  /** Runs the attempt in a task process: a fresh fork (runIsolated, the default) or a warm process. */
  isolate?: (spec: IsolatedAttempt) => Promise<AttemptReport>;
  /** See DEFAULT_STARTED_REPORT_DELAY_MS; 0 reports the start before the attempt runs. */
  startedReportDelayMs?: number;
}

type StepQueuedData = EventData<typeof StepQueued>;
interface TaskSpec {
  handler?: unknown;
  memoryMb?: unknown;
  heartbeatMs?: unknown;
}

export const DEFAULT_MEMORY_MB = 256;
/**
 * `report_step_started` goes out only once an attempt has run this long (or
 * heartbeats): a shorter one reports just its result, which implies the
 * start (the executor records step.started and the outcome in one
 * transaction). One command, one transaction and a start-to-close timer
 * fewer per quick attempt; the executor sees a long attempt's start at most
 * this much later.
 */
export const DEFAULT_STARTED_REPORT_DELAY_MS = 250;
/** How long a result waits for its attempt's started report (and heartbeats) to be acknowledged. */
const STARTED_WAIT_MS = 1_000;

function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]).then(() => clearTimeout(timer));
}

/** Heartbeat commands are throttled: the executor needs a sign of life per heartbeat timeout, not every call. */
const MAX_HEARTBEAT_INTERVAL_MS = 1_000;

/** One delivery of `step.queued` for a task: run isolated, report the result (and the start, when the attempt takes a while). */
export class TaskAttempt {
  readonly identity: AttemptIdentity;
  readonly key: string;
  private readonly controller = new AbortController();
  private readonly log: Logger;
  private readonly spec: TaskSpec;
  private readonly pendingHeartbeats = new Set<Promise<unknown>>();
  private heartbeats = 0;
  private lastHeartbeatAt = 0;
  /** The started report once sent (or being sent); the result waits for it so the two arrive in order. */
  private started: Promise<void> | undefined;

  constructor(
    private readonly envelope: EventEnvelope,
    private readonly data: StepQueuedData,
    private readonly settings: AttemptSettings,
  ) {
    this.identity = { runId: data.runId, stepId: data.stepId, workflowId: data.workflowId, attempt: data.attempt };
    this.key = `${data.runId}:${data.stepId}:${data.attempt}`;
    this.spec = data.spec as TaskSpec;
    this.log = settings.logger.child({
      workflow: data.workflowId,
      run_id: data.runId,
      task_id: data.stepId,
      attempt: data.attempt,
      handler: typeof this.spec.handler === 'string' ? this.spec.handler : undefined,
      ...(envelope.traceparent !== undefined && { trace_id: envelope.traceparent.split('-')[1] }),
    });
  }

  abort(reason: AbortReason): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  async execute(): Promise<void> {
    if (this.controller.signal.aborted) {
      // Cancelled before it started: nothing ran, so there is nothing to report as started.
      return this.report(this.failure(this.controller.signal.reason as AbortReason, 'the step was cancelled before it started', false));
    }
    const delayMs = this.settings.startedReportDelayMs ?? DEFAULT_STARTED_REPORT_DELAY_MS;
    if (delayMs <= 0) {
      await this.reportStarted();
      return this.run();
    }
    const timer = setTimeout(() => void this.reportStarted(), delayMs);
    try {
      await this.run();
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    const handlerName = typeof this.spec.handler === 'string' ? this.spec.handler : '';
    const registration = this.settings.handlers.get(handlerName);
    if (!registration) {
      const known = [...this.settings.handlers.keys()].join(', ') || 'none';
      return this.report(this.failure('unknown_handler', `no handler "${handlerName}" on worker ${this.settings.workerId} (it has: ${known})`, false));
    }
    let environment;
    try {
      environment = this.settings.profiles.resolve(this.data.workflowId);
    } catch (err) {
      if (err instanceof SecretMissingError) return this.report(this.failure('secret_missing', err.message, false));
      throw err;
    }
    const memoryMb = typeof this.spec.memoryMb === 'number' && this.spec.memoryMb > 0 ? this.spec.memoryMb : DEFAULT_MEMORY_MB;
    const heartbeatMs = typeof this.spec.heartbeatMs === 'number' ? this.spec.heartbeatMs : this.data.timeouts.heartbeatMs;
    const heartbeatEvery = Math.max(50, Math.min(MAX_HEARTBEAT_INTERVAL_MS, (heartbeatMs ?? Infinity) / 3));
    this.log.debug('task attempt starting', { memory_mb: memoryMb, timeout_ms: this.data.timeouts.startToCloseMs });
    const report = await (this.settings.isolate ?? runIsolated)({
      modulePath: registration.modulePath,
      handler: registration.name,
      input: this.data.input,
      identity: this.identity,
      memoryMb,
      timeoutMs: this.data.timeouts.startToCloseMs,
      env: environment.env,
      secrets: environment.secrets,
      signal: this.controller.signal,
      onHeartbeat: () => this.heartbeat(heartbeatEvery),
      onLog: (level, msg, fields) => this.log[level](msg, { ...fields, source: 'handler' }),
      ...(this.settings.killGraceMs !== undefined && { killGraceMs: this.settings.killGraceMs }),
      ...(this.settings.sampleIntervalMs !== undefined && { sampleIntervalMs: this.settings.sampleIntervalMs }),
    });
    // Beats still being sent go first, but one whose publish is being retried does not hold the result back.
    await waitAtMost(Promise.allSettled(this.pendingHeartbeats), STARTED_WAIT_MS);
    await this.report(report);
  }

  /**
   * Sends `report_step_started` once. A failure is only logged: the result
   * implies the start, and its own publish failing is what redelivers the step.
   */
  private reportStarted(): Promise<void> {
    this.started ??= this.send('report_step_started', 'started', { ...this.ids(), workerId: this.settings.workerId }).then(
      () => undefined,
      (err: unknown) => this.log.warn('started report not sent', { err }),
    );
    return this.started;
  }

  private heartbeat(every: number): void {
    const now = Date.now();
    if (now - this.lastHeartbeatAt < every) return;
    this.lastHeartbeatAt = now;
    const n = ++this.heartbeats;
    // The executor keeps beats only for a running step: the start goes first.
    const sent = this.reportStarted()
      .then(() => this.send('heartbeat_step', `heartbeat-${n}`, this.ids()))
      .catch((err: unknown) => this.log.warn('heartbeat not sent', { err }));
    this.pendingHeartbeats.add(sent);
    void sent.finally(() => this.pendingHeartbeats.delete(sent));
  }

  private async report(report: AttemptReport): Promise<void> {
    const { outcome, usage, reportedUsage } = report;
    // The start goes first when it can; a start whose publish is still being retried (JetStream slow to ack)
    // must not hold the result back: the result implies the start, and a late start decides nothing.
    if (this.started) await waitAtMost(this.started, STARTED_WAIT_MS);
    await this.send('report_step_result', 'result', { ...this.ids(), outcome, usage, reportedUsage });
    const status = outcome.status;
    const fields = {
      status,
      duration_ms: usage.wallMs,
      cpu_ms: usage.cpuMs,
      max_rss_kb: usage.maxRssKb,
      ...(outcome.status === 'failed' && { err: outcome.error }),
    };
    if (status === 'succeeded') this.log.info('task attempt succeeded', fields);
    else this.log.warn('task attempt failed', fields);
    this.record(outcome, usage.wallMs);
  }

  private record(outcome: AttemptOutcome, wallMs: number): void {
    const metrics = this.settings.metrics;
    if (!metrics) return;
    const queue = this.data.target.service === 'worker' ? this.data.target.queue : 'none';
    const labels = { queue, handler: typeof this.spec.handler === 'string' ? this.spec.handler : 'unknown', outcome: outcome.status === 'succeeded' ? 'succeeded' : outcome.error.code };
    metrics.counter('steward_task_attempts_total', 'Task attempts finished by this worker, by queue, handler and outcome (an error code when failed).', ['queue', 'handler', 'outcome']).inc(labels);
    metrics
      .histogram('steward_task_attempt_duration_seconds', 'Wall time of task attempts, from handing the attempt to its task process to its outcome.', ['queue', 'handler', 'outcome'], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300])
      .observe(labels, wallMs / 1000);
  }

  private failure(code: string, message: string, retryable: boolean): AttemptReport {
    return { outcome: { status: 'failed', error: { code, message, retryable } }, usage: { cpuMs: 0, maxRssKb: 0, wallMs: 0 }, reportedUsage: [] };
  }

  private ids() {
    return { runId: this.data.runId, stepId: this.data.stepId, attempt: this.data.attempt };
  }

  private send(name: 'report_step_started' | 'heartbeat_step' | 'report_step_result', kind: string, payload: Record<string, unknown>): Promise<string> {
    return this.settings.commands.publish({
      name,
      kind,
      identity: this.identity,
      queuedAt: this.data.queuedAt,
      payload,
      correlationId: this.envelope.correlationid,
      ...(this.envelope.traceparent !== undefined && { traceparent: this.envelope.traceparent }),
    });
  }
}
