import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { allEvents, EventRegistry, StepQueued, type EventData, type EventEnvelope, type Subjects } from '@steward/contracts';
import { connectNats, JetStreamServer, PresenceReporter } from '@steward/messaging';
import { Logger, type Metrics } from '@steward/observability';
import { CancellationWatch, type StopRequest } from './cancellation.watch';
import { EnvironmentProfileResolver, type EnvironmentProfiles } from './environment.profile';
import type { HandlerRegistration } from './handler.load';
import { Semaphore } from './semaphore';
import { StepCommandPublisher } from './step-command.publisher';
import { DEFAULT_ISOLATE_MAX_ATTEMPTS, WarmIsolatePool, type TaskProcessEvent } from './isolate.warm';
import { DEFAULT_MEMORY_MB, TaskAttempt, type AttemptSettings } from './task.attempt';
import type { AbortReason } from './task.isolate';

/**
 * `attempt`: a fresh child process per attempt (nothing survives between
 * attempts; ~20 ms of CPU per attempt for the process start). `warm`: task
 * processes that run many attempts of one handler module and profile in turn.
 */
export type IsolationMode = 'attempt' | 'warm';

export interface WorkerPoolOptions {
  /** Either a URL (the pool opens and drains its own connection) or a shared connection. */
  natsUrl?: string;
  connection?: NatsConnection;
  subjects: Subjects;
  /** Task queues served; each gets the durable consumer `worker-<queue>`, shared by replicas. */
  queues: readonly string[];
  handlers: ReadonlyMap<string, HandlerRegistration> | readonly HandlerRegistration[];
  /** Attempts running at once across all queues (each in its own task process). Default 4. */
  concurrency?: number;
  /** Names this worker in logs, presence and `report_step_started`. Default `<hostname>-<pid>`. */
  workerId?: string;
  logger?: Logger;
  metrics?: Metrics;
  profiles?: EnvironmentProfiles;
  /** Where `secretRef`s are looked up; default process.env (STEWARD_SECRET_<NAME>). */
  secretSource?: Record<string, string | undefined>;
  /** Announce `worker.<workerId>` with capabilities `queue:<name>`. Default true. */
  presence?: boolean;
  ackWaitMs?: number;
  maxDeliver?: number;
  /** Passed to each attempt: time between ctx.signal aborting and SIGKILL. */
  killGraceMs?: number;
  sampleIntervalMs?: number;
  /** Default `warm`; see docs/workers.md for the trade-off. */
  isolation?: IsolationMode;
  /** Warm isolation: attempts one task process runs before it is replaced. Default 100. */
  isolateMaxAttempts?: number;
  /** How long an attempt runs before `report_step_started` is sent (shorter ones report only the result). Default 250; 0 sends it first. */
  startedReportDelayMs?: number;
}

type StepQueuedData = EventData<typeof StepQueued>;

const QUEUE = /^[a-z][a-z0-9_-]{0,62}$/;
/** How many cancelled runs/steps are remembered for deliveries that arrive after their cancellation. */
const CANCELLED_MEMORY = 10_000;

/**
 * The task worker: consumes `step.queued` for its queues, runs each attempt
 * in a task process (warm or forked for it) and reports back with commands. It is both
 * the executor's built-in pool and what a team runs as its own worker; it
 * never touches the database.
 */
export class WorkerPool {
  readonly workerId: string;
  private readonly log: Logger;
  private readonly handlers: ReadonlyMap<string, HandlerRegistration>;
  private readonly slots: Semaphore;
  private readonly profiles: EnvironmentProfileResolver;
  private readonly running = new Map<string, TaskAttempt>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private nc: NatsConnection | undefined;
  private server: JetStreamServer | undefined;
  private watch: CancellationWatch | undefined;
  private presence: PresenceReporter | undefined;
  private commands: StepCommandPublisher | undefined;
  private started = false;
  private warm: WarmIsolatePool | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    if (options.queues.length === 0) throw new Error('a worker pool needs at least one queue');
    for (const q of options.queues) if (!QUEUE.test(q)) throw new Error(`queue "${q}" is not a valid queue name (lowercase slug)`);
    if (!options.connection && !options.natsUrl) throw new Error('a worker pool needs natsUrl or connection');
    this.workerId = (options.workerId ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9_-]/g, '-');
    this.log = (options.logger ?? new Logger({ service: 'worker' })).child({ worker: this.workerId });
    this.handlers = options.handlers instanceof Map ? options.handlers : new Map((options.handlers as readonly HandlerRegistration[]).map((h) => [h.name, h]));
    this.slots = new Semaphore(options.concurrency ?? 4);
    this.profiles = new EnvironmentProfileResolver(options.profiles, options.secretSource);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { subjects } = this.options;
    this.nc = this.options.connection ?? (await connectNats(this.options.natsUrl!, `worker-${this.workerId}`));
    this.commands = new StepCommandPublisher(this.nc, subjects, `worker:${this.workerId}`);
    if ((this.options.isolation ?? 'warm') === 'warm') {
      this.warm = new WarmIsolatePool({
        maxAttempts: this.options.isolateMaxAttempts ?? DEFAULT_ISOLATE_MAX_ATTEMPTS,
        maxIdle: this.slots.size,
        onStrayLog: (level, msg, fields) => this.log[level](msg, { ...fields, source: 'handler' }),
        ...(this.options.metrics && { onProcess: this.countTaskProcesses(this.options.metrics) }),
      });
      // Started before the first delivery, so the first attempts do not pay for the process start.
      this.warm.prestart(
        [...this.handlers.values()].map((h) => h.modulePath),
        DEFAULT_MEMORY_MB,
      );
    }
    // Cancellations first: an attempt must never start before we can hear that it should stop.
    this.watch = new CancellationWatch(this.nc, subjects, (r) => this.stop(r), this.log);
    await this.watch.start();
    this.server = new JetStreamServer({
      natsUrl: this.options.natsUrl ?? '',
      connection: this.nc,
      subjects,
      service: 'worker',
      registry: new EventRegistry(allEvents),
      logger: this.log,
      ...(this.options.metrics && { metrics: this.options.metrics }),
      consumers: this.options.queues.map((queue) => ({
        durable: `worker-${queue}`,
        stream: 'EVENTS' as const,
        filter: subjects.event(StepQueued.type, `task-${queue}`),
        // Each queue may fill every slot; the shared semaphore bounds the total.
        concurrency: this.slots.size,
        ackWaitMs: this.options.ackWaitMs ?? 30_000,
        maxDeliver: this.options.maxDeliver ?? 5,
      })),
    });
    this.server.addHandler(StepQueued.type, (envelope: EventEnvelope) => this.onStepQueued(envelope), true);
    await new Promise<void>((resolve, reject) => void this.server!.listen((err) => (err ? reject(err) : resolve())));
    if (this.options.presence !== false) {
      this.presence = new PresenceReporter(this.nc, subjects, {
        service: 'worker',
        instance: this.workerId,
        capabilities: this.options.queues.map((q) => `queue:${q}`),
        onError: (err) => this.log.warn('presence report failed', { err }),
      });
      await this.presence.start();
    }
    this.log.info('worker pool started', {
      queues: this.options.queues,
      handlers: [...this.handlers.keys()],
      concurrency: this.slots.size,
      isolation: this.warm ? 'warm' : 'attempt',
    });
  }

  isReady(): boolean {
    return this.server?.isReady() ?? false;
  }

  /** Attempts running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Pids of the warm task processes alive now, idle or busy (empty in `attempt` isolation). */
  taskProcessPids(): number[] {
    return this.warm?.pids() ?? [];
  }

  /**
   * Stops taking work and waits for running attempts (bounded by the
   * server's drain timeout); any not finished are redelivered to another
   * replica after ack_wait, where their deterministic command ids keep the
   * reports from conflicting.
   */
  async close(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.presence?.stop();
    await this.server?.close();
    this.watch?.stop();
    for (const attempt of this.running.values()) attempt.abort('cancelled');
    await this.warm?.close();
    this.warm = undefined;
    if (!this.options.connection && this.nc && !this.nc.isClosed()) await this.nc.drain();
  }

  private onStepQueued(envelope: EventEnvelope): Promise<void> {
    const data = envelope.data as StepQueuedData;
    if (data.kind !== 'task' || data.target.service !== 'worker') {
      this.log.warn('ignoring a step.queued that is not a task', { run_id: data.runId, task_id: data.stepId, kind: data.kind });
      return Promise.resolve();
    }
    const key = `${data.runId}:${data.stepId}:${data.attempt}`;
    // A redelivery of an attempt this worker is still running: settle both deliveries when it ends.
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    const done = this.handleAttempt(envelope, data).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, done);
    return done;
  }

  private async handleAttempt(envelope: EventEnvelope, data: StepQueuedData): Promise<void> {
    const release = await this.slots.acquire();
    try {
      const settings: AttemptSettings = {
        workerId: this.workerId,
        commands: this.commands!,
        logger: this.log,
        handlers: this.handlers,
        profiles: this.profiles,
        ...(this.options.metrics && { metrics: this.options.metrics }),
        ...(this.options.killGraceMs !== undefined && { killGraceMs: this.options.killGraceMs }),
        ...(this.options.sampleIntervalMs !== undefined && { sampleIntervalMs: this.options.sampleIntervalMs }),
        ...(this.warm && { isolate: this.warm.run.bind(this.warm) }),
        ...(this.options.startedReportDelayMs !== undefined && { startedReportDelayMs: this.options.startedReportDelayMs }),
      };
      const attempt = new TaskAttempt(envelope, data, settings);
      const cancelledBefore = this.cancelled.has(data.runId) || this.cancelled.has(`${data.runId}:${data.stepId}`);
      if (cancelledBefore) attempt.abort('cancelled');
      this.running.set(attempt.key, attempt);
      try {
        await attempt.execute();
      } finally {
        this.running.delete(attempt.key);
      }
    } finally {
      release();
    }
  }

  private countTaskProcesses(metrics: Metrics): (event: TaskProcessEvent) => void {
    const started = metrics.counter('steward_task_processes_started_total', 'Warm task processes started by this worker.');
    const ended = metrics.counter('steward_task_processes_ended_total', 'Warm task processes the worker ended, by reason.', ['reason']);
    return (event) => (event === 'started' ? started.inc() : ended.inc({ reason: event }));
  }

  private stop(request: StopRequest): void {
    if (request.reason === 'cancelled') this.remember(request.stepId === undefined ? request.runId : `${request.runId}:${request.stepId}`);
    let matched = 0;
    for (const attempt of this.running.values()) {
      const id = attempt.identity;
      if (id.runId !== request.runId) continue;
      if (request.stepId !== undefined && id.stepId !== request.stepId) continue;
      if (request.attempt !== undefined && id.attempt !== request.attempt) continue;
      attempt.abort(request.reason as AbortReason);
      matched++;
    }
    if (matched > 0) this.log.info('stopping attempts', { run_id: request.runId, task_id: request.stepId, reason: request.reason, attempts: matched });
  }

  private remember(key: string): void {
    this.cancelled.add(key);
    if (this.cancelled.size > CANCELLED_MEMORY) this.cancelled.delete(this.cancelled.values().next().value!);
  }
}
