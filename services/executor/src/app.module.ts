import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type INestMicroservice, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, ScheduleRunRequested, TimerFired } from '@steward/contracts';
import { EventStore } from '@steward/event-store';
import { JetStreamExceptionFilter, JetStreamServer, PresenceReporter, removeRetiredConsumer } from '@steward/messaging';
import { HealthModule, NestJsonLogger, type Logger } from '@steward/observability';
import { closeRuntime, CommandRunner, openRuntime, ProjectionRebuildRunner, runtimeChecks } from '@steward/runtime';
import { handlerDirsFromEnv, loadHandlers, WorkerPool } from '@steward/worker';
import { systemClock, type Clock, type Random } from './clock';
import type { ExecutorConfig } from './config';
import { POOL } from './executor.tokens';
import { ExecutorHandlersModule, type ExecutorHandlers } from './handlers.module';
import { BaselineRepository } from './projection/baseline.repository';
import { BaselinePacer } from './projection/baseline.pacer';
import { QueuedStepSweep } from './timers/queued-step.sweep';
import { ensureExecutorSchema } from './projection/executor.migrations';
import { RunProjectionRepository } from './projection/run-projection.repository';
import { RunProjector } from './projection/run.projector';
import { runRebuildTarget } from './projection/run.rebuild';
import { AdmissionRepository } from './runs/admission.repository';
import { RunEngine } from './runs/run.engine';
import { RunRequestService } from './runs/run-request.service';
import { runRequestBatcher } from './runs/run-request.batcher';
import { commandBatcher } from './commands/command.batcher';
import { EVENTS_CONSUMER } from './runs/run-events.controller';
import { TimerFiredService } from './timers/timer-fired.service';
import { TIMER_OWNER } from './timers/run-timers.plan';

const NATS = Symbol('NATS');
const HANDLERS = Symbol('HANDLERS');
const WORKERS = Symbol('WORKERS');

/**
 * The executor's event durables (the inbox keeps one consumer name,
 * `executor`, for both). They replaced the single `executor` durable over
 * every event: after an upgrade the old one is left unused and may be deleted.
 */
export const RUN_REQUESTS_DURABLE = 'executor-runs';
export const TIMERS_DURABLE = 'executor-timers';

/** Outcome events of run commands carry the run id, so a refusal shows in the run's timeline. */
function runIdOf(payload: unknown) {
  const runId = (payload as { runId?: unknown } | null)?.runId;
  return typeof runId === 'string' ? { runId } : {};
}

/** What the executor takes, announced in the presence directory so the gateway can tell who serves what. */
export const EXECUTOR_CAPABILITIES = [
  'schedule.run_requested',
  'timer.fired',
  'cmd:cancel_run',
  'cmd:approve_step',
  'cmd:reject_step',
  'cmd:requeue_dead_letter',
  'cmd:discard_dead_letter',
  'cmd:requeue_dead_letters',
  'cmd:discard_dead_letters',
  'cmd:report_step_started',
  'cmd:heartbeat_step',
  'cmd:report_step_result',
];

/** Tests drive time, jitter and the presence instance name. */
export interface ExecutorOverrides {
  clock?: Clock;
  random?: Random;
  instance?: string;
}

/**
 * Starts the message handlers on the JetStream transport once the app is up,
 * and stops them (draining running handlers) before the connections close.
 */
@Injectable()
class ExecutorLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private microservice: INestMicroservice | undefined;

  constructor(
    @Inject(JetStreamServer) private readonly server: JetStreamServer,
    @Inject(HANDLERS) private readonly handlers: ExecutorHandlers,
    @Inject(PresenceReporter) private readonly presence: PresenceReporter,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(NestJsonLogger) private readonly nestLogger: NestJsonLogger,
    @Inject(WORKERS) private readonly workers: WorkerPool | null,
    @Inject(ProjectionRebuildRunner) private readonly rebuilds: ProjectionRebuildRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.microservice = await NestFactory.createMicroservice(ExecutorHandlersModule.forRoot(this.handlers), { strategy: this.server, logger: this.nestLogger });
    // Without it Nest turns every handler error into a generic one, retried forever instead of dead-lettered.
    this.microservice.useGlobalFilters(new JetStreamExceptionFilter());
    await this.microservice.listen();
    await this.workers?.start();
    await this.rebuilds.start();
    this.handlers.queuedSteps.start();
    await this.presence.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Leave the directory first: from here on this instance takes no more work.
    await this.presence.stop();
    await this.rebuilds.stop();
    await this.handlers.queuedSteps.stop();
    await this.workers?.close();
    await this.microservice?.close();
    // Successes whose baseline refresh was still waiting for its interval.
    await this.handlers.baselinePacer.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRuntime({ nc: this.nc, pool: this.pool });
  }
}

@Module({})
export class ExecutorModule {
  static async forRoot(config: ExecutorConfig, logger: Logger, overrides: ExecutorOverrides = {}): Promise<DynamicModule> {
    // No async stack captured per JetStream publish (each report of the built-in pool's workers is one): ~1% of its CPU.
    const runtime = await openRuntime({ service: 'executor', config, logger, poolSize: config.EXECUTOR_DB_POOL_SIZE, nats: { noAsyncTraces: true } });
    const { pool, nc, subjects, metrics } = runtime;
    await ensureExecutorSchema(pool);
    // Until 2026-12 one durable over every event; its backlog would only grow now that executor-runs and executor-timers take over.
    await removeRetiredConsumer(runtime.jsm, subjects.stream('EVENTS'), 'executor', subjects.events(), logger);
    const registry = new EventRegistry(allEvents);
    const store = new EventStore(pool, { registry, source: 'executor' });
    const clock = overrides.clock ?? systemClock;
    const random = overrides.random ?? Math.random;

    const runs = new RunProjectionRepository();
    const admission = new AdmissionRepository(runs);
    const baselines = new BaselineRepository(config.EXECUTOR_BASELINE_WINDOW);
    const baselinePacer = new BaselinePacer(pool, baselines, config.EXECUTOR_BASELINE_INTERVAL_MS, (err, workflowId) => logger.warn('baseline refresh failed', { err, workflowId }));
    const projector = new RunProjector(runs, baselines, baselinePacer);
    const engine = new RunEngine(store, runs, admission, projector, clock);
    const requests = new RunRequestService(engine, admission, clock);
    const commands = new CommandRunner(pool, store, { service: 'executor', outcomeMetadata: runIdOf });
    const handlers: ExecutorHandlers = {
      pool,
      store,
      engine,
      runs,
      requests,
      runRequests: runRequestBatcher(pool, store, requests, runs, EVENTS_CONSUMER, {
        maxBatch: config.EXECUTOR_RUN_REQUEST_BATCH,
        maxWaitMs: config.EXECUTOR_BATCH_WAIT_MS,
        parallel: 2,
      }),
      // One report batch at a time per replica: a batch can hold rows of several runs and, through
      // admission, a concurrency key; two of them could wait on each other (Postgres would break the
      // deadlock and the batch would be retried one report at a time, but slowly).
      workerReports: commandBatcher(pool, store, commands, projector, runs, { maxBatch: config.EXECUTOR_REPORT_BATCH, maxWaitMs: config.EXECUTOR_BATCH_WAIT_MS, parallel: 1 }),
      timers: new TimerFiredService(store, engine, runs, clock, random),
      commands,
      clock,
      random,
      baselinePacer,
      queuedSteps: new QueuedStepSweep(pool, engine, clock, random, logger, { defaultMs: config.EXECUTOR_SCHEDULE_TO_START_MS, intervalMs: config.EXECUTOR_QUEUE_SWEEP_MS }),
    };

    const server = new JetStreamServer({
      natsUrl: config.NATS_URL,
      connection: nc,
      subjects,
      service: 'executor',
      registry,
      logger,
      metrics,
      consumers: [
        // One durable per event type the executor takes (NATS 2.9 allows one filter each): run
        // requests, and the timers routed to it. A consumer of every event would receive, decode
        // and ack the ~9 events of each run only to skip them.
        { stream: 'EVENTS', durable: RUN_REQUESTS_DURABLE, filter: subjects.events(ScheduleRunRequested.type), concurrency: config.EXECUTOR_RUN_REQUEST_BATCH, ackWaitMs: config.EXECUTOR_ACK_WAIT_MS },
        { stream: 'EVENTS', durable: TIMERS_DURABLE, filter: subjects.event(TimerFired.type, TIMER_OWNER), concurrency: config.EXECUTOR_EVENT_CONCURRENCY, ackWaitMs: config.EXECUTOR_ACK_WAIT_MS },
        { stream: 'COMMANDS', durable: 'executor-cmd', filter: subjects.commands('executor'), concurrency: config.EXECUTOR_COMMAND_CONCURRENCY + config.EXECUTOR_REPORT_BATCH, ackWaitMs: config.EXECUTOR_ACK_WAIT_MS },
      ],
    });
    // The built-in pool: the task queues this executor serves itself, from STEWARD_HANDLERS.
    const handlerDirs = handlerDirsFromEnv(config.STEWARD_HANDLERS);
    const workers =
      handlerDirs.length === 0
        ? null
        : new WorkerPool({
            connection: nc,
            subjects,
            queues: config.EXECUTOR_WORKER_QUEUES.split(','),
            handlers: loadHandlers(handlerDirs),
            concurrency: config.EXECUTOR_WORKER_CONCURRENCY,
            isolation: config.EXECUTOR_WORKER_ISOLATION,
            isolateMaxAttempts: config.EXECUTOR_WORKER_ISOLATE_MAX_ATTEMPTS,
            workerId: `executor-${overrides.instance ?? process.pid}`,
            logger,
            metrics,
          });
    const presence = new PresenceReporter(nc, subjects, {
      service: 'executor',
      capabilities: EXECUTOR_CAPABILITIES,
      ...(overrides.instance !== undefined && { instance: overrides.instance }),
      onError: (err) => logger.warn('presence report failed', { err }),
    });

    return {
      module: ExecutorModule,
      imports: [
        HealthModule.forRoot(metrics, [
          ...runtimeChecks(runtime),
          { name: 'consumers', check: () => server.isReady() },
        ]),
      ],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: HANDLERS, useValue: handlers },
        { provide: WORKERS, useValue: workers },
        {
          provide: ProjectionRebuildRunner,
          useValue: ProjectionRebuildRunner.for(runRebuildTarget(projector), { pool, nc, subjects, registry, logger }, config),
        },
        { provide: JetStreamServer, useValue: server },
        { provide: PresenceReporter, useValue: presence },
        { provide: NestJsonLogger, useValue: new NestJsonLogger(logger) },
        ExecutorLifecycle,
      ],
    };
  }
}
