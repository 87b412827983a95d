import { hostname } from 'node:os';
import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, OperatorActionRecorded, StepQueued, WorkflowResumed, type EventEnvelope } from '@steward/contracts';
import { BlobStore, EventStore } from '@steward/event-store';
import { commandPattern, JetStreamServer, PresenceReporter, type CommandEnvelope, type JetStreamContext } from '@steward/messaging';
import { HealthModule, type Logger } from '@steward/observability';
import { closeRuntime, CommandRunner, openRuntime, runtimeChecks } from '@steward/runtime';
import { EnvironmentProfileResolver, handlerDirsFromEnv, loadHandlers, loadProfilesFile } from '@steward/worker';
import { CaptureRepository } from './capture/capture.repository';
import { CollectStepHandler } from './capture/collect-step.handler';
import { SourceFetcher } from './capture/source.fetcher';
import { systemClock, type Clock } from './clock';
import { ensureCollectorSchema } from './collector.migrations';
import { CollectorMetrics } from './collector.metrics';
import type { CollectorConfig } from './config';
import { parseCidrList } from './http/cidr';
import { DestinationGuard, type Resolver } from './http/destination.guard';
import { HttpFetcher } from './http/http.fetcher';
import { SourceLimiter } from './limits/source-limiter';
import { StepReportPublisher } from './report/step-report.publisher';
import { FileSource } from './sources/file.source';
import { HandlerSource } from './sources/handler.source';
import { SourceSwitch } from './switch/source-switch';
import { COLLECTOR_COMMANDS, OPERATOR_CONSUMER, SourceSwitchHandlers, WORKFLOWS_CONSUMER } from './switch/source-switch.handlers';

const POOL = Symbol('POOL');
const NATS = Symbol('NATS');

/** The collector's route of step.queued (the executor routes collect steps `collector`). */
export const COLLECTOR_ROUTE = 'collector';

/**
 * Announced in the presence directory: the step.queued route it consumes,
 * `workflow.resumed` and `operator.action_recorded` (a resume: the undo of
 * an alert's disable_source), its commands
 * (`cmd:disable_source`, `cmd:enable_source`), the source kinds it serves (`source:file` only with file roots), and
 * `handler:<name>` for each custom collector handler it loaded.
 */
export function collectorCapabilities(config: Pick<CollectorConfig, 'COLLECTOR_FILE_ROOTS'>, handlers: Iterable<string>): string[] {
  return [
    `step.queued.${COLLECTOR_ROUTE}`,
    WorkflowResumed.type,
    OperatorActionRecorded.type,
    ...COLLECTOR_COMMANDS.map((c) => `cmd:${c}`),
    'source:http',
    ...(handlerDirsFromEnv(config.COLLECTOR_FILE_ROOTS).length > 0 ? ['source:file'] : []),
    'source:handler',
    ...[...handlers].sort().map((h) => `handler:${h}`),
  ];
}

/** Tests drive time, the secrets, DNS and the presence instance name. */
export interface CollectorOverrides {
  clock?: Clock;
  instance?: string;
  secretSource?: Record<string, string | undefined>;
  resolver?: Resolver;
}

@Injectable()
class CollectorLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(JetStreamServer) private readonly server: JetStreamServer,
    @Inject(PresenceReporter) private readonly presence: PresenceReporter,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await new Promise<void>((resolve, reject) => void this.server.listen((err) => (err ? reject(err) : resolve())));
    await this.presence.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Leave the directory first: from here on this instance takes no more work.
    await this.presence.stop();
    await this.server.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRuntime({ nc: this.nc, pool: this.pool });
  }
}

@Module({})
export class CollectorModule {
  static async forRoot(config: CollectorConfig, logger: Logger, overrides: CollectorOverrides = {}): Promise<DynamicModule> {
    const instance = (overrides.instance ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9_-]/g, '-');
    // Handler modules are loaded before anything opens: a missing or broken one stops the start with its path.
    const handlers = loadHandlers(handlerDirsFromEnv(config.COLLECTOR_HANDLERS));
    const secretSource = overrides.secretSource ?? process.env;
    const profiles = new EnvironmentProfileResolver(config.COLLECTOR_PROFILES === undefined ? {} : loadProfilesFile(config.COLLECTOR_PROFILES), secretSource);
    const runtime = await openRuntime({ service: 'collector', config, logger, poolSize: config.COLLECTOR_DB_POOL_SIZE });
    const { pool, nc, subjects, metrics } = runtime;
    await ensureCollectorSchema(pool);
    const registry = new EventRegistry(allEvents);
    const store = new EventStore(pool, { registry, source: 'collector' });
    const clock = overrides.clock ?? systemClock;

    const guard = new DestinationGuard(parseCidrList(config.COLLECTOR_ALLOW_CIDRS), overrides.resolver);
    const fetcher = new SourceFetcher(
      new HttpFetcher(guard, config.COLLECTOR_USER_AGENT),
      new FileSource(handlerDirsFromEnv(config.COLLECTOR_FILE_ROOTS)),
      new HandlerSource(handlers, config.COLLECTOR_HANDLER_MEMORY_MB, profiles, logger),
      { requestTimeoutMs: config.COLLECTOR_REQUEST_TIMEOUT_MS, maxBodyBytes: config.COLLECTOR_MAX_BODY_BYTES, maxRedirects: config.COLLECTOR_MAX_REDIRECTS },
      clock,
    );
    const switches = new SourceSwitch(pool, store, clock);
    const switchHandlers = new SourceSwitchHandlers(pool, store, switches, new CommandRunner(pool, store, { service: 'collector' }), logger);
    const handler = new CollectStepHandler(
      new CaptureRepository(pool, store, new BlobStore(pool)),
      switches,
      fetcher,
      new SourceLimiter(pool, clock, instance),
      new StepReportPublisher(nc, subjects, instance),
      clock,
      new CollectorMetrics(metrics),
      logger,
      {
        inlineMaxBytes: config.COLLECTOR_INLINE_MAX_BYTES,
        limitMaxWaitMs: config.COLLECTOR_LIMIT_MAX_WAIT_MS,
        retryAfterMaxWaitMs: config.COLLECTOR_RETRY_AFTER_MAX_WAIT_MS,
        retryAfterMaxTries: config.COLLECTOR_RETRY_AFTER_MAX_TRIES,
        secretSource,
      },
    );

    const server = new JetStreamServer({
      natsUrl: config.NATS_URL,
      connection: nc,
      subjects,
      service: 'collector',
      registry,
      logger,
      metrics,
      consumers: [
        {
          stream: 'EVENTS',
          durable: 'collector',
          filter: subjects.event(StepQueued.type, COLLECTOR_ROUTE),
          concurrency: config.COLLECTOR_CONCURRENCY,
          ackWaitMs: config.COLLECTOR_ACK_WAIT_MS,
          maxDeliver: config.COLLECTOR_MAX_DELIVER,
        },
        // Its own durable: NATS 2.9 consumers take one filter, and a resume must not wait behind slow fetches.
        { stream: 'EVENTS', durable: WORKFLOWS_CONSUMER, filter: subjects.events(WorkflowResumed.type), concurrency: 1, ackWaitMs: config.COLLECTOR_ACK_WAIT_MS },
        { stream: 'EVENTS', durable: OPERATOR_CONSUMER, filter: subjects.events(OperatorActionRecorded.type), concurrency: 1, ackWaitMs: config.COLLECTOR_ACK_WAIT_MS },
        { stream: 'COMMANDS', durable: 'collector-cmd', filter: subjects.commands('collector'), concurrency: 2, ackWaitMs: config.COLLECTOR_ACK_WAIT_MS },
      ],
    });
    server.addHandler(StepQueued.type, (envelope: EventEnvelope, ctx?: JetStreamContext) => handler.handle(envelope, ctx), true);
    server.addHandler(WorkflowResumed.type, (envelope: EventEnvelope) => switchHandlers.workflowResumed(envelope), true);
    server.addHandler(OperatorActionRecorded.type, (envelope: EventEnvelope) => switchHandlers.operatorAction(envelope), true);
    server.addHandler(commandPattern('disable_source'), (command: CommandEnvelope) => switchHandlers.disableSource(command), true);
    server.addHandler(commandPattern('enable_source'), (command: CommandEnvelope) => switchHandlers.enableSource(command), true);
    const presence = new PresenceReporter(nc, subjects, {
      service: 'collector',
      instance,
      capabilities: collectorCapabilities(config, handlers.keys()),
      onError: (err) => logger.warn('presence report failed', { err }),
    });
    logger.info('collector configured', { handlers: [...handlers.keys()], file_roots: config.COLLECTOR_FILE_ROOTS, allow_cidrs: config.COLLECTOR_ALLOW_CIDRS });

    return {
      module: CollectorModule,
      imports: [HealthModule.forRoot(metrics, [...runtimeChecks(runtime), { name: 'consumers', check: () => server.isReady() }])],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: JetStreamServer, useValue: server },
        { provide: PresenceReporter, useValue: presence },
        CollectorLifecycle,
      ],
    };
  }
}
