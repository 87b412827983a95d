import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type INestMicroservice, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry } from '@steward/contracts';
import { BlobStore, EventStore } from '@steward/event-store';
import { JetStreamExceptionFilter, JetStreamServer, PresenceReporter } from '@steward/messaging';
import { HealthModule, NestJsonLogger, type Logger } from '@steward/observability';
import { closeRuntime, CommandRunner, openRuntime, ProjectionRebuildRunner, runtimeChecks } from '@steward/runtime';
import { workflowStepsRebuildTarget } from './captures/workflow-steps.rebuild';
import { CaptureTransformer } from './captures/capture.transformer';
import type { BlobSource } from './captures/capture.body';
import { LiveCaptureService } from './captures/live-capture.service';
import { TransformRoutes } from './captures/transform.routes';
import { systemClock, type Clock } from './clock';
import { parseRoutes, type TransformerConfig } from './config';
import { DatasetRepository } from './datasets/dataset.repository';
import { ensureTransformerSchema } from './datasets/transformer.migrations';
import { TransformerHandlersModule, type TransformerHandlers } from './handlers.module';
import { ReplayConsumer } from './replay/replay.consumer';
import { ReplayRepository } from './replay/replay.repository';
import { ReplayService } from './replay/replay.service';
import { StepReportPublisher } from './steps/step-report.publisher';
import { TransformStepService } from './steps/transform-step.service';
import { CONTROL_CONSUMER, LIVE_CONSUMER } from './transformer.controller';
import { POOL } from './transformer.tokens';
import { loadTransforms, transformDirsFromEnv, TransformRegistry } from './transforms/transform.registry';

const NATS = Symbol('NATS');
const HANDLERS = Symbol('HANDLERS');

/** What the transformer takes, announced in the presence directory so the gateway can tell who serves what. */
export const TRANSFORMER_CAPABILITIES = ['collection.raw_captured', 'step.queued.transformer', 'replay.backfill', 'cmd:promote_dataset_version'];

/** Tests drive time, the transforms and the blob source. */
export interface TransformerOverrides {
  clock?: Clock;
  instance?: string;
  registry?: TransformRegistry;
  blobs?: BlobSource;
}

@Injectable()
class TransformerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private microservice: INestMicroservice | undefined;

  constructor(
    @Inject(JetStreamServer) private readonly server: JetStreamServer,
    @Inject(ReplayConsumer) private readonly replay: ReplayConsumer,
    @Inject(HANDLERS) private readonly handlers: TransformerHandlers,
    @Inject(PresenceReporter) private readonly presence: PresenceReporter,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(NestJsonLogger) private readonly nestLogger: NestJsonLogger,
    @Inject(ProjectionRebuildRunner) private readonly rebuilds: ProjectionRebuildRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.microservice = await NestFactory.createMicroservice(TransformerHandlersModule.forRoot(this.handlers), { strategy: this.server, logger: this.nestLogger });
    this.microservice.useGlobalFilters(new JetStreamExceptionFilter());
    await this.microservice.listen();
    await this.replay.start();
    await this.rebuilds.start();
    await this.presence.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.presence.stop();
    await this.rebuilds.stop();
    await this.replay.stop();
    await this.microservice?.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRuntime({ nc: this.nc, pool: this.pool });
  }
}

@Module({})
export class TransformerModule {
  static async forRoot(config: TransformerConfig, logger: Logger, overrides: TransformerOverrides = {}): Promise<DynamicModule> {
    // Bad transform modules stop the start before anything connects.
    const transforms = overrides.registry ?? loadTransforms(transformDirsFromEnv(config.TRANSFORMER_TRANSFORMS));
    const runtime = await openRuntime({ service: 'transformer', config, logger, poolSize: config.TRANSFORMER_DB_POOL_SIZE });
    const { pool, nc, subjects, metrics } = runtime;
    await ensureTransformerSchema(pool);
    const registry = new EventRegistry(allEvents);
    const store = new EventStore(pool, { registry, source: 'transformer' });
    const clock = overrides.clock ?? systemClock;
    const datasets = new DatasetRepository();
    const replays = new ReplayRepository();
    const transformer = new CaptureTransformer(datasets, overrides.blobs ?? new BlobStore(pool), metrics);
    const live = new LiveCaptureService(store, transformer, new TransformRoutes(transforms, parseRoutes(config.TRANSFORMER_ROUTES), datasets), clock);
    const replayService = new ReplayService(store, transforms, replays, datasets, transformer, clock);
    const instance = overrides.instance ?? String(process.pid);
    const handlers: TransformerHandlers = {
      pool,
      store,
      live,
      replays: replayService,
      steps: new TransformStepService(pool, store, transforms, live, new StepReportPublisher(nc, subjects, `transformer-${instance}`)),
      commands: new CommandRunner(pool, store, { service: 'transformer' }),
      datasets,
      clock,
    };
    logger.info('transforms loaded', { transforms: transforms.list().map((t) => t.ref) });

    const ackWaitMs = config.TRANSFORMER_ACK_WAIT_MS;
    const server = new JetStreamServer({
      natsUrl: config.NATS_URL,
      connection: nc,
      subjects,
      service: 'transformer',
      registry,
      logger,
      metrics,
      consumers: [
        { stream: 'EVENTS', durable: LIVE_CONSUMER, filter: subjects.events('collection.raw_captured'), concurrency: config.TRANSFORMER_EVENT_CONCURRENCY, ackWaitMs },
        { stream: 'EVENTS', durable: 'transformer-steps', filter: subjects.event('step.queued', 'transformer'), concurrency: config.TRANSFORMER_EVENT_CONCURRENCY, ackWaitMs },
        { stream: 'EVENTS', durable: CONTROL_CONSUMER, filter: subjects.category('replay'), concurrency: 1, ackWaitMs },
        { stream: 'EVENTS', durable: 'transformer-workflows', filter: subjects.events('workflow.applied'), concurrency: 1, ackWaitMs },
        { stream: 'COMMANDS', durable: 'transformer-cmd', filter: subjects.commands('transformer'), concurrency: config.TRANSFORMER_COMMAND_CONCURRENCY, ackWaitMs },
      ],
    });
    const replayConsumer = new ReplayConsumer(nc, subjects, registry, pool, replays, replayService, { batch: config.TRANSFORMER_REPLAY_BATCH, concurrency: config.TRANSFORMER_REPLAY_CONCURRENCY, ackWaitMs }, logger, metrics);
    const presence = new PresenceReporter(nc, subjects, {
      service: 'transformer',
      capabilities: TRANSFORMER_CAPABILITIES,
      ...(overrides.instance !== undefined && { instance: overrides.instance }),
      onError: (err) => logger.warn('presence report failed', { err }),
    });

    return {
      module: TransformerModule,
      imports: [
        HealthModule.forRoot(metrics, [
          ...runtimeChecks(runtime),
          { name: 'consumers', check: () => server.isReady() && replayConsumer.isRunning() },
        ]),
      ],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: HANDLERS, useValue: handlers },
        { provide: JetStreamServer, useValue: server },
        { provide: ReplayConsumer, useValue: replayConsumer },
        {
          provide: ProjectionRebuildRunner,
          useValue: ProjectionRebuildRunner.for(workflowStepsRebuildTarget(), { pool, nc, subjects, registry, logger }, config),
        },
        { provide: PresenceReporter, useValue: presence },
        { provide: NestJsonLogger, useValue: new NestJsonLogger(logger) },
        TransformerLifecycle,
      ],
    };
  }
}
