import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type INestMicroservice, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry } from '@steward/contracts';
import { EventStore } from '@steward/event-store';
import { JetStreamExceptionFilter, JetStreamServer, PresenceDirectory, PresenceReporter } from '@steward/messaging';
import { HealthModule, NestJsonLogger, type Logger } from '@steward/observability';
import { closeRuntime, CommandRunner, openRuntime, ProjectionRebuildRunner, runtimeChecks } from '@steward/runtime';
import { BudgetRepository } from './budgets/budget.repository';
import { BudgetService } from './budgets/budget.service';
import { CapacityPlanner } from './capacity/capacity.planner';
import { ForecastPlanner } from './capacity/forecast.planner';
import { UptimeSampler } from './capacity/uptime.sampler';
import { systemClock, type Clock } from './clock';
import type { CostConfig } from './config';
import type { CostServices } from './cost.services';
import { POOL } from './cost.tokens';
import { CostHandlersModule } from './handlers.module';
import { PriceRepository } from './prices/price.repository';
import { ensureCostSchema } from './projection/cost.migrations';
import { AttributionRepository } from './usage/attribution.repository';
import { CostIngestor } from './usage/cost.ingestor';
import { usageBatcher } from './usage/usage.batcher';
import { UsageHandler } from './usage/usage.handler';
import { EVENTS_CONSUMER, usageDelivery } from './usage/usage.delivery';
import { usageRebuildTarget } from './usage/usage.rebuild';

const NATS = Symbol('NATS');
const SERVICES = Symbol('SERVICES');
const LOGGER = Symbol('LOGGER');
const PERIODIC = Symbol('PERIODIC');

/** What the cost tracker takes, announced in the presence directory so the gateway can tell who serves what. */
export const COST_TRACKER_CAPABILITIES = [
  'step.succeeded',
  'step.failed',
  'collection.raw_captured',
  'transformation.completed',
  'workflow.applied',
  'run.requested',
  'cmd:apply_prices',
  'cmd:set_budget',
];

/** Tests drive time and the presence instance name. */
export interface CostTrackerOverrides {
  clock?: Clock;
  instance?: string;
}

/** Work the cost tracker repeats on a timer: capacity plans and forecasts, uptime samples. */
interface PeriodicJob {
  name: string;
  everyMs: number;
  /** The first run waits this long after start (default: runs at once). */
  firstAfterMs?: number;
  run(now: Date): Promise<unknown>;
}

/**
 * Services started together announce themselves within a presence report
 * interval (5 s) or two; an uptime sample taken before that marked them down,
 * and a platform up for a minute read as 50 % up in `steward reports ops`.
 */
const UPTIME_FIRST_SAMPLE_AFTER_MS = 15_000;

/** Starts the handlers and the capacity refresh once the app is up; stops both before the connections close. */
@Injectable()
class CostTrackerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private microservice: INestMicroservice | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    @Inject(JetStreamServer) private readonly server: JetStreamServer,
    @Inject(SERVICES) private readonly services: CostServices,
    @Inject(PresenceReporter) private readonly presence: PresenceReporter,
    @Inject(PERIODIC) private readonly periodic: PeriodicJob[],
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(NestJsonLogger) private readonly nestLogger: NestJsonLogger,
    @Inject(ProjectionRebuildRunner) private readonly rebuilds: ProjectionRebuildRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.rebuilds.start();
    this.microservice = await NestFactory.createMicroservice(CostHandlersModule.forRoot(this.services), { strategy: this.server, logger: this.nestLogger });
    // Without it Nest turns every handler error into a generic one, retried forever instead of dead-lettered.
    this.microservice.useGlobalFilters(new JetStreamExceptionFilter());
    await this.microservice.listen();
    await this.presence.start();
    for (const job of this.periodic.filter((j) => j.everyMs > 0)) {
      let busy = false;
      const tick = () => {
        if (busy) return; // a slow database: skip a tick rather than pile them up
        busy = true;
        const p = job
          .run(this.services.clock.now())
          .catch((err: unknown) => this.logger.warn(`${job.name} failed`, { err }))
          .finally(() => {
            busy = false;
            this.running.delete(p);
          });
        this.running.add(p);
      };
      const start = () => {
        tick();
        const timer = setInterval(tick, job.everyMs);
        timer.unref();
        this.timers.push(timer);
      };
      if (job.firstAfterMs === undefined) start();
      else {
        const first = setTimeout(start, job.firstAfterMs);
        first.unref();
        this.timers.push(first);
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearTimeout(t); // clears intervals too
    await this.presence.stop();
    await this.rebuilds.stop();
    await Promise.all(this.running);
    await this.microservice?.close();
    await this.services.batcher.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRuntime({ nc: this.nc, pool: this.pool });
  }
}

@Module({})
export class CostTrackerModule {
  static async forRoot(config: CostConfig, logger: Logger, overrides: CostTrackerOverrides = {}): Promise<DynamicModule> {
    const runtime = await openRuntime({ service: 'cost-tracker', config, logger, poolSize: config.COST_DB_POOL_SIZE });
    const { pool, nc, subjects, metrics } = runtime;
    await ensureCostSchema(pool, { timeZone: config.COST_TIMEZONE });
    const registry = new EventRegistry(allEvents);
    const store = new EventStore(pool, { registry, source: 'cost-tracker' });
    const clock = overrides.clock ?? systemClock;

    const prices = new PriceRepository();
    const attribution = new AttributionRepository();
    const budgetRepo = new BudgetRepository();
    const budgets = new BudgetService(store, budgetRepo, { timeZone: config.COST_TIMEZONE, forecastMinElapsedMs: config.COST_FORECAST_MIN_ELAPSED_HOURS * 3_600_000 });
    const ingestor = new CostIngestor(prices, budgetRepo, budgets, { timeZone: config.COST_TIMEZONE, environment: config.COST_ENVIRONMENT });
    const usage = new UsageHandler(attribution, budgetRepo, budgets, ingestor, config.COST_DEFAULT_THRESHOLDS);
    const services: CostServices = {
      pool,
      store,
      clock,
      timeZone: config.COST_TIMEZONE,
      defaultThresholds: config.COST_DEFAULT_THRESHOLDS,
      prices,
      budgets,
      ingestor,
      usage,
      batcher: usageBatcher(pool, store, usage, clock, { consumer: EVENTS_CONSUMER, maxBatch: config.COST_BATCH_MAX, maxWaitMs: config.COST_BATCH_WAIT_MS, parallel: config.COST_BATCH_PARALLEL }, metrics),
      commands: new CommandRunner(pool, store, { service: 'cost-tracker' }),
    };
    const capacity = new CapacityPlanner(pool, { capacity: config.COST_WORKER_CAPACITY, weeks: config.COST_CAPACITY_WEEKS, targetUtilisation: config.COST_TARGET_UTILISATION }, metrics);
    const forecasts = new ForecastPlanner(pool, config.COST_TIMEZONE);
    const uptime = new UptimeSampler(pool, new PresenceDirectory(nc, subjects), config.COST_UPTIME_SERVICES);
    const periodic: PeriodicJob[] = [
      { name: 'capacity plan', everyMs: config.COST_CAPACITY_REFRESH_MS, run: (now) => capacity.plan(now).then(() => forecasts.plan(now)) },
      { name: 'uptime sample', everyMs: config.COST_UPTIME_SAMPLE_MS, firstAfterMs: Math.min(UPTIME_FIRST_SAMPLE_AFTER_MS, config.COST_UPTIME_SAMPLE_MS), run: (now) => uptime.sample(now, config.COST_UPTIME_SAMPLE_MS) },
    ];

    const server = new JetStreamServer({
      natsUrl: config.NATS_URL,
      connection: nc,
      subjects,
      service: 'cost-tracker',
      registry,
      logger,
      metrics,
      consumers: [
        // Every event: each counts towards stored event volume, and usage arrives on many types.
        // Messages in flight wait to share a batch transaction, so the server must let that many go unacked
        // (its default, 1000, would cap the batches); twice as many covers acks still on their way back.
        {
          stream: 'EVENTS',
          durable: 'cost-tracker',
          filter: subjects.events(),
          concurrency: config.COST_EVENT_CONCURRENCY,
          maxAckPending: 2 * config.COST_EVENT_CONCURRENCY,
          ackWaitMs: config.COST_ACK_WAIT_MS,
          batch: usageDelivery(services.batcher, config.COST_BATCH_MAX),
        },
        { stream: 'COMMANDS', durable: 'cost-tracker-cmd', filter: subjects.commands('cost-tracker'), concurrency: config.COST_COMMAND_CONCURRENCY, ackWaitMs: config.COST_ACK_WAIT_MS },
      ],
    });
    const presence = new PresenceReporter(nc, subjects, {
      service: 'cost-tracker',
      capabilities: COST_TRACKER_CAPABILITIES,
      ...(overrides.instance !== undefined && { instance: overrides.instance }),
      onError: (err) => logger.warn('presence report failed', { err }),
    });

    return {
      module: CostTrackerModule,
      imports: [HealthModule.forRoot(metrics, [...runtimeChecks(runtime), { name: 'consumers', check: () => server.isReady() }])],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: SERVICES, useValue: services },
        { provide: LOGGER, useValue: logger },
        { provide: PERIODIC, useValue: periodic },
        { provide: JetStreamServer, useValue: server },
        {
          provide: ProjectionRebuildRunner,
          useValue: ProjectionRebuildRunner.for(usageRebuildTarget(usage, clock), { pool, nc, subjects, registry, logger }, config),
        },
        { provide: PresenceReporter, useValue: presence },
        { provide: NestJsonLogger, useValue: new NestJsonLogger(logger) },
        CostTrackerLifecycle,
      ],
    };
  }
}
