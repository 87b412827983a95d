import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, TimerCancelled, TimerRequested } from '@steward/contracts';
import { EventStore } from '@steward/event-store';
import { JetStreamServer, PresenceReporter } from '@steward/messaging';
import { HealthModule, type Logger } from '@steward/observability';
import { closeRuntime, openRuntime, ProjectionRebuildRunner, runtimeChecks } from '@steward/runtime';
import { CLOCK, systemClock, type Clock } from './clock';
import { CommandOutcomes } from './commands/command.outcome';
import type { SchedulerConfig } from './config';
import { ManualRunService } from './runs/manual-run.service';
import { ensureSchedulerSchema } from './scheduler.migrations';
import { OccurrenceScheduler } from './schedules/occurrence.scheduler';
import { ScheduleRepository } from './schedules/schedule.repository';
import { TickLoop } from './schedules/tick.loop';
import { TimerEventHandler } from './timers/timer.handler';
import { TimerRepository } from './timers/timer.repository';
import { TimerScheduler } from './timers/timer.scheduler';
import { TimerService } from './timers/timer.service';
import { TriggerConsumers } from './triggers/trigger.consumers';
import { TriggerRoutingRegistry } from './triggers/trigger.registry';
import { TriggerService } from './triggers/trigger.service';
import { SCHEDULER_COMMANDS, WorkflowCommandHandler } from './workflows/workflow.handler';
import { WorkflowProjection } from './workflows/workflow.projection';
import { workflowRebuildTarget } from './workflows/workflow.rebuild';
import { WorkflowRepository } from './workflows/workflow.repository';
import { WorkflowService } from './workflows/workflow.service';

export const POOL = Symbol('POOL');
export const NATS = Symbol('NATS');

/**
 * The scheduler's event durables: timer requests and cancellations, each on
 * its own, and one per `on:` trigger type (TriggerConsumers); the inbox keeps
 * one consumer name, `scheduler`, for all. They replaced the single
 * `scheduler` durable over every event: after an upgrade the old one is left
 * unused and may be deleted.
 */
export const TIMER_REQUESTS_DURABLE = 'scheduler-timers';
export const TIMER_CANCELS_DURABLE = 'scheduler-timer-cancels';

export interface SchedulerModuleOptions {
  /** Where "now" comes from; tests pass a ManualClock. */
  clock?: Clock;
  /** false: no timer-driven ticks; the caller ticks by hand (tests driving the clock). */
  autoTick?: boolean;
  /** Presence instance name; two replicas in one process need distinct ones. */
  instance?: string;
}

/** Starts the tick loop and presence once the app is up; stops them before the consumers and connections close. */
@Injectable()
class SchedulerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(TickLoop) private readonly ticks: TickLoop,
    @Inject(PresenceReporter) private readonly presence: PresenceReporter,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject('AUTO_TICK') private readonly autoTick: boolean,
    @Inject(ProjectionRebuildRunner) private readonly rebuilds: ProjectionRebuildRunner,
    @Inject(TriggerConsumers) private readonly triggers: TriggerConsumers,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.autoTick) this.ticks.start();
    await this.rebuilds.start();
    await this.presence.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Leave the directory first: from here on this instance takes no more work.
    await this.presence.stop();
    await this.ticks.stop();
    await this.rebuilds.stop();
    await this.triggers.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRuntime({ nc: this.nc, pool: this.pool });
  }
}

@Module({})
export class SchedulerModule {
  static async forRoot(config: SchedulerConfig, logger: Logger, options: SchedulerModuleOptions = {}): Promise<DynamicModule> {
    const clock = options.clock ?? systemClock;
    // Each command handler holds one connection for its transaction, and a lost append race briefly needs a
    // second; an event handler holds one only when its event triggers a run. Opened on demand.
    const runtime = await openRuntime({ service: 'scheduler', config, logger, poolSize: config.CONSUMER_CONCURRENCY * 2 + config.SCHEDULER_EVENT_CONCURRENCY + 6 });
    const { pool, nc, subjects, metrics } = runtime;
    await ensureSchedulerSchema(pool);

    const registry = new EventRegistry(allEvents);
    const store = new EventStore(pool, { registry, source: 'scheduler' });
    const workflows = new WorkflowRepository();
    const schedules = new ScheduleRepository();
    const timers = new TimerRepository();
    const outcomes = new CommandOutcomes(pool, store, { maxBatch: config.SCHEDULER_COMMAND_BATCH, maxWaitMs: config.SCHEDULER_BATCH_WAIT_MS, parallel: 2 });
    const occurrences = new OccurrenceScheduler(pool, store, schedules, { graceMs: config.SCHEDULE_GRACE_MS }, logger, metrics);
    const timerScheduler = new TimerScheduler(pool, store, timers, config.TIMER_BATCH_SIZE, metrics);
    const ticks = new TickLoop(occurrences, timerScheduler, clock, config.SCHEDULER_TICK_MS, logger, metrics);
    const projection = new WorkflowProjection(workflows, schedules);
    const rebuilds = ProjectionRebuildRunner.for(workflowRebuildTarget(projection), { pool, nc, subjects, registry, logger }, config);

    // Timer requests and cancellations are validated on delivery; any other type only if it triggers a run.
    const handled = new Set([TimerRequested.type, TimerCancelled.type]);
    const routing = new TriggerRoutingRegistry(allEvents, handled);
    const server = new JetStreamServer({
      natsUrl: config.NATS_URL,
      subjects,
      service: 'scheduler',
      registry: routing,
      logger,
      metrics,
      connection: nc,
      topology: false,
      consumers: [
        { stream: 'COMMANDS', filter: subjects.commands('scheduler'), concurrency: config.CONSUMER_CONCURRENCY + config.SCHEDULER_COMMAND_BATCH },
        // One durable per event type taken (one filter each on NATS 2.9); `on:` trigger types get theirs from TriggerConsumers.
        { stream: 'EVENTS', durable: TIMER_REQUESTS_DURABLE, filter: subjects.events(TimerRequested.type), concurrency: config.SCHEDULER_EVENT_CONCURRENCY },
        { stream: 'EVENTS', durable: TIMER_CANCELS_DURABLE, filter: subjects.events(TimerCancelled.type), concurrency: config.SCHEDULER_EVENT_CONCURRENCY },
      ],
    });
    const triggerService = new TriggerService(pool, store, workflows, clock, metrics);
    const triggers = new TriggerConsumers({
      nc,
      subjects,
      registry: routing,
      handled,
      pool,
      workflows,
      logger,
      metrics,
      concurrency: config.SCHEDULER_EVENT_CONCURRENCY,
      refreshMs: config.SCHEDULER_TRIGGER_REFRESH_MS,
      onEvent: (event) => triggerService.onEvent(event),
    });
    const presence = new PresenceReporter(nc, subjects, {
      service: 'scheduler',
      ...(options.instance !== undefined && { instance: options.instance }),
      capabilities: [...SCHEDULER_COMMANDS, 'schedules', 'timers'],
      onError: (err) => logger.warn('presence report failed', { err }),
    });

    return {
      module: SchedulerModule,
      imports: [
        HealthModule.forRoot(metrics, [
          ...runtimeChecks(runtime),
          { name: 'consumers', check: () => server.isReady() && triggers.isReady() },
          { name: 'ticks', check: () => options.autoTick === false || ticks.healthy() },
        ]),
      ],
      controllers: [WorkflowCommandHandler, TimerEventHandler],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: CLOCK, useValue: clock },
        { provide: EventStore, useValue: store },
        { provide: JetStreamServer, useValue: server },
        { provide: TriggerConsumers, useValue: triggers },
        { provide: PresenceReporter, useValue: presence },
        { provide: 'AUTO_TICK', useValue: options.autoTick !== false },
        { provide: TickLoop, useValue: ticks },
        { provide: ProjectionRebuildRunner, useValue: rebuilds },
        { provide: WorkflowService, useValue: new WorkflowService(store, outcomes, projection, triggers, clock) },
        { provide: ManualRunService, useValue: new ManualRunService(store, outcomes, clock) },
        { provide: TimerService, useValue: new TimerService(pool, store, timers, { maxBatch: config.SCHEDULER_EVENT_CONCURRENCY, maxWaitMs: config.SCHEDULER_BATCH_WAIT_MS, parallel: 2 }) },
        { provide: TriggerService, useValue: triggerService },
        SchedulerLifecycle,
      ],
    };
  }
}
