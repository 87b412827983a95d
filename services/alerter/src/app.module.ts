import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type INestMicroservice, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry } from '@steward/contracts';
import { EventStore } from '@steward/event-store';
import { JetStreamExceptionFilter, JetStreamServer, PresenceReporter } from '@steward/messaging';
import { HealthModule, NestJsonLogger, type Logger } from '@steward/observability';
import { closeRuntime, CommandRunner, openRuntime, ProjectionRebuildRunner, runtimeChecks } from '@steward/runtime';
import { signalRebuildTarget } from './signals/signal.rebuild';
import { AlerterTicker } from './alerter.ticker';
import { ActionService } from './alerts/action.service';
import { AlertEngine } from './alerts/alert.engine';
import { CommandOutbox } from './alerts/command.outbox';
import { EvaluationService } from './alerts/evaluation.service';
import { PlatformProbe } from './alerts/platform.conditions';
import { ResponseMetrics } from './alerts/response.metrics';
import { EntityConditions } from './alerts/entity.conditions';
import { WorkflowConditions, type BuiltinSettings } from './alerts/workflow.conditions';
import { systemClock, type Clock } from './clock';
import { AlertCommands } from './commands/alert-commands.service';
import type { AlerterConfig } from './config';
import { EscalationService } from './escalation/escalation.service';
import { AlerterHandlersModule, type AlerterHandlers } from './handlers.module';
import { ChannelSender } from './notify/channel.sender';
import { DeliveryService } from './notify/delivery.service';
import { NotificationPlanner } from './notify/notification.planner';
import { AlertRepository } from './projection/alert.repository';
import { ensureAlerterSchema } from './projection/alerter.migrations';
import { RuleSetRepository } from './projection/rule-set.repository';
import { SignalBatchRepository } from './projection/signal-batch.repository';
import { SignalRepository } from './projection/signal.repository';
import { WorkflowSnapshotRepository } from './projection/workflow-snapshot.repository';
import { SilenceRepository } from './projection/silence.repository';
import { withBudgetEvent } from './signals/budget.event';
import { SignalIngest } from './signals/signal.ingest';
import { SignalProjector } from './signals/signal.projector';

const NATS = Symbol('NATS');
const POOL = Symbol('POOL');
const HANDLERS = Symbol('HANDLERS');

/** What the alerter takes, announced in the presence directory so the gateway can tell who serves what. */
export const ALERTER_CAPABILITIES = [
  'workflow.applied',
  'run.succeeded',
  'run.failed',
  'run.timed_out',
  'run.cancelled',
  'step.timed_out',
  'step.dead_lettered',
  'collection.raw_captured',
  'budget.threshold_crossed',
  'timer.fired',
  'cmd:acknowledge_alert',
  'cmd:resolve_alert',
  'cmd:create_silence',
  'cmd:expire_silence',
  'cmd:apply_alert_rules',
];

/** Tests drive time, secrets and the presence instance name, and run the ticker by hand. */
export interface AlerterOverrides {
  clock?: Clock;
  instance?: string;
  secrets?: Record<string, string | undefined>;
  /** false: no background loops; the test calls the ticker itself. */
  startTicker?: boolean;
}

/** The ticker, exposed so tests (and the bench) can drive time-based work. */
export const ALERTER_TICKER = Symbol('ALERTER_TICKER');

@Injectable()
class AlerterLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private microservice: INestMicroservice | undefined;

  constructor(
    @Inject(JetStreamServer) private readonly server: JetStreamServer,
    @Inject(HANDLERS) private readonly handlers: AlerterHandlers,
    @Inject(PresenceReporter) private readonly presence: PresenceReporter,
    @Inject(ALERTER_TICKER) private readonly ticker: AlerterTicker,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(NestJsonLogger) private readonly nestLogger: NestJsonLogger,
    @Inject(ChannelSender) private readonly sender: ChannelSender,
    @Inject('START_TICKER') private readonly startTicker: boolean,
    @Inject(ProjectionRebuildRunner) private readonly rebuilds: ProjectionRebuildRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.microservice = await NestFactory.createMicroservice(AlerterHandlersModule.forRoot(this.handlers), { strategy: this.server, logger: this.nestLogger });
    // Without it Nest turns every handler error into a generic one, retried forever instead of dead-lettered.
    this.microservice.useGlobalFilters(new JetStreamExceptionFilter());
    await this.microservice.listen();
    if (this.startTicker) this.ticker.start();
    await this.rebuilds.start();
    await this.presence.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.presence.stop();
    await this.rebuilds.stop();
    await this.ticker.stop();
    await this.microservice?.close();
    await this.sender.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRuntime({ nc: this.nc, pool: this.pool });
  }
}

/** A command about an alert records its outcome in that alert's timeline (alert events correlate on the alert id). */
function alertCorrelation(payload: unknown) {
  const alertId = (payload as { alertId?: unknown } | null)?.alertId;
  return typeof alertId === 'string' ? { correlationId: alertId } : {};
}

@Module({})
export class AlerterModule {
  static async forRoot(config: AlerterConfig, logger: Logger, overrides: AlerterOverrides = {}): Promise<DynamicModule> {
    const runtime = await openRuntime({ service: 'alerter', config, logger, poolSize: config.ALERTER_DB_POOL_SIZE });
    const { pool, nc, subjects, metrics } = runtime;
    await ensureAlerterSchema(pool);
    const registry = new EventRegistry(withBudgetEvent(allEvents));
    const store = new EventStore(pool, { registry, source: 'alerter' });
    const clock = overrides.clock ?? systemClock;

    const alerts = new AlertRepository();
    const signals = new SignalRepository();
    const rules = new RuleSetRepository();
    const silences = new SilenceRepository();
    const planner = new NotificationPlanner(alerts, silences, { runbookBaseUrl: config.ALERTER_RUNBOOK_BASE_URL, externalUrl: config.ALERTER_EXTERNAL_URL });
    let engine: AlertEngine | undefined;
    const engineRef = () => engine!;
    const escalation = new EscalationService(engineRef, alerts, planner);
    const actions = new ActionService(engineRef);
    engine = new AlertEngine(store, alerts, {
      changed: (tx, a, r, now) => planner.changed(tx, a, r, now),
      fired: async (tx, a, c, r, now, meta) => {
        await escalation.start(tx, a, r, now, meta);
        await actions.take(tx, a, c, now, meta);
      },
    });
    const builtins: BuiltinSettings = {
      burnMinVolume: config.ALERTER_BURN_MIN_VOLUME,
      baselineMinSamples: config.ALERTER_BASELINE_MIN_SAMPLES,
      baselineWindow: config.ALERTER_BASELINE_WINDOW,
      baselineMaxDeviation: config.ALERTER_BASELINE_MAX_DEVIATION,
      baselineForMs: config.ALERTER_BASELINE_FOR_MS,
      consecutiveFailures: config.ALERTER_CONSECUTIVE_FAILURES,
      stepSuccessThreshold: config.ALERTER_STEP_SUCCESS_THRESHOLD,
      stepWindowMs: config.ALERTER_STEP_WINDOW_MS,
      stepMinSamples: config.ALERTER_STEP_MIN_SAMPLES,
      stepBaselineForMs: config.ALERTER_STEP_BASELINE_FOR_MS,
      sourceFailureThreshold: config.ALERTER_SOURCE_FAILURE_THRESHOLD,
      sourceWindowMs: config.ALERTER_SOURCE_WINDOW_MS,
      sourceMinSamples: config.ALERTER_SOURCE_MIN_SAMPLES,
      serviceDeadLetters: config.ALERTER_SERVICE_DEAD_LETTERS,
    };
    const conditions = new WorkflowConditions(new WorkflowSnapshotRepository(signals), builtins);
    const platform = new PlatformProbe(nc, subjects, { consumerLagThreshold: config.ALERTER_CONSUMER_LAG_THRESHOLD, consumerLagForMs: config.ALERTER_CONSUMER_LAG_FOR_MS });
    const evaluation = new EvaluationService(pool, rules, signals, conditions, new EntityConditions(signals, builtins), engine, alerts, clock, config.ALERTER_CHANNEL_FAILURE_THRESHOLD, platform);
    const sender = new ChannelSender({ timeoutMs: config.ALERTER_DELIVERY_TIMEOUT_MS, smtpUrl: config.ALERTER_SMTP_URL, emailFrom: config.ALERTER_EMAIL_FROM, secrets: overrides.secrets ?? process.env });
    const delivery = new DeliveryService(
      pool,
      store,
      sender,
      rules,
      signals,
      evaluation,
      clock,
      { initialMs: config.ALERTER_DELIVERY_BACKOFF_MS, maxMs: config.ALERTER_DELIVERY_MAX_BACKOFF_MS, maxAttempts: config.ALERTER_DELIVERY_MAX_ATTEMPTS, leaseMs: config.ALERTER_DELIVERY_TIMEOUT_MS + 5_000 },
      logger,
    );
    const alertCommands = new AlertCommands(store, engine, evaluation, rules, silences, clock);
    const ticker = new AlerterTicker(
      { pool, clock, evaluation, commands: alertCommands, planner, delivery, outbox: new CommandOutbox(pool, nc, subjects, clock), response: new ResponseMetrics(pool, metrics, clock), logger },
      config.ALERTER_EVAL_INTERVAL_MS,
      config.ALERTER_DISPATCH_INTERVAL_MS,
    );
    const projector = new SignalProjector(signals, new SignalBatchRepository());
    const handlers: AlerterHandlers = {
      ingest: new SignalIngest(pool, store, projector, evaluation, escalation, clock, metrics, { maxBatch: config.ALERTER_BATCH_MAX, maxWaitMs: config.ALERTER_BATCH_WAIT_MS }),
      commands: new CommandRunner(pool, store, { service: 'alerter', outcomeMetadata: alertCorrelation }),
      alertCommands,
    };

    const server = new JetStreamServer({
      natsUrl: config.NATS_URL,
      connection: nc,
      subjects,
      service: 'alerter',
      registry,
      logger,
      metrics,
      consumers: [
        // Every event: NATS 2.9 allows one filter, and the alerter watches runs, dead letters, captures, budgets and its timers.
        // max_ack_pending at least the handlers in flight (the server's default is 1,000): batches form from what is in flight.
        { stream: 'EVENTS', durable: 'alerter', filter: subjects.events(), concurrency: config.ALERTER_EVENT_CONCURRENCY, maxAckPending: config.ALERTER_EVENT_CONCURRENCY, ackWaitMs: config.ALERTER_ACK_WAIT_MS, batch: handlers.ingest.delivery(config.ALERTER_BATCH_MAX) },
        { stream: 'COMMANDS', durable: 'alerter-cmd', filter: subjects.commands('alerter'), concurrency: config.ALERTER_COMMAND_CONCURRENCY, ackWaitMs: config.ALERTER_ACK_WAIT_MS },
      ],
    });
    const presence = new PresenceReporter(nc, subjects, {
      service: 'alerter',
      capabilities: ALERTER_CAPABILITIES,
      ...(overrides.instance !== undefined && { instance: overrides.instance }),
      onError: (err) => logger.warn('presence report failed', { err }),
    });

    return {
      module: AlerterModule,
      imports: [HealthModule.forRoot(metrics, [...runtimeChecks(runtime), { name: 'consumers', check: () => server.isReady() }])],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: HANDLERS, useValue: handlers },
        { provide: ALERTER_TICKER, useValue: ticker },
        { provide: ChannelSender, useValue: sender },
        { provide: 'START_TICKER', useValue: overrides.startTicker ?? true },
        { provide: JetStreamServer, useValue: server },
        { provide: PresenceReporter, useValue: presence },
        { provide: NestJsonLogger, useValue: new NestJsonLogger(logger) },
        {
          provide: ProjectionRebuildRunner,
          useValue: ProjectionRebuildRunner.for(signalRebuildTarget(projector), { pool, nc, subjects, registry, logger }, config),
        },
        AlerterLifecycle,
      ],
      exports: [ALERTER_TICKER],
    };
  }
}
