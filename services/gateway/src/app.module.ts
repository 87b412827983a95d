import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { EventRegistry, foundationEvents, gatewayEvents } from '@steward/contracts';
import { CheckpointStore, createPool, EventStore } from '@steward/event-store';
import { CommandBus, PresenceDirectory, PresenceReporter } from '@steward/messaging';
import { HealthModule, type Logger } from '@steward/observability';
import { closeRuntime, openRuntime, runtimeChecks } from '@steward/runtime';
import { API_CONTROLLERS } from './api.controllers';
import { AuthGuard } from './auth/auth.guard';
import { TokenProjectionChecker } from './auth/token-projection.checker';
import { TokenRepository } from './auth/token.repository';
import { TokenRevocationListener } from './auth/token-revocation.listener';
import { TokenService } from './auth/token.service';
import type { GatewayConfig } from './config';
import { ensureGatewaySchema } from './gateway.migrations';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { httpPlumbingProvider } from './http/http.providers';
import { HttpReplyInterceptor } from './http/http-reply';
import { CommandDispatcher } from './operator/command.dispatcher';
import { OPENAPI_DOCUMENT, OpenApiController, openApiDocument } from './openapi/openapi.controller';
import { ReadModelGate } from './operator/read-model.gate';
import { WorkflowReadRepository } from './reads/workflow-read.repository';
import { WorkflowReads } from './reads/workflow-reads.service';
import { RunReadsRepository } from './reads/run-reads.repository';
import { RunReadsService } from './reads/run-reads.service';
import { READ_POOL } from './reads/read-pool.token';
import { CostReconciliationChecker } from './reads/cost-reads.repository';
import { ProjectionRebuildsChecker } from './reads/replay-reads.repository';
import { SERVICE_DIRECTORY } from './presence/service.directory';
import { TokenBucketLimiter } from './http/rate-limit.bucket';
import { TimelineRepository } from './timeline/timeline.repository';
import { TimelineService } from './timeline/timeline.service';
import { TimelineStreams } from './timeline/timeline-stream.service';
import { EventStreamReader } from './verify/event-stream.reader';
import { PROJECTION_CHECKERS, type ProjectionChecker } from './verify/projection.checker';
import { VerifyRepository } from './verify/verify.repository';
import { VerifyService } from './verify/verify.service';

const POOL = Symbol('POOL');
const NATS = Symbol('NATS');

/** Announces the gateway once it serves, stops listeners before the HTTP server closes, and closes connections after. */
@Injectable()
class GatewayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(TokenRevocationListener) private readonly revocations: TokenRevocationListener,
    @Inject(TimelineStreams) private readonly streams: TimelineStreams,
    @Inject(PresenceReporter) private readonly presence: PresenceReporter,
    @Inject(CommandBus) private readonly bus: CommandBus,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(READ_POOL) private readonly readPool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.presence.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.presence.stop();
    this.revocations.stop();
    this.streams.closeAll();
    await this.bus.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRuntime({ nc: this.nc, pool: this.pool });
    await this.readPool.end().catch(() => undefined);
  }
}

/**
 * Prints the generated first admin token on a plain stdout line: the JSON
 * logger redacts every field named like a token, which is right for logs
 * but would hide the one thing an operator needs from the first start.
 */
function announceBootstrap(result: Awaited<ReturnType<TokenService['bootstrap']>>, logger: Logger): void {
  if (result.status === 'exists') return;
  logger.info('bootstrap admin token created', { id: result.tokenId, source: result.source });
  if (result.token !== undefined) process.stdout.write(`steward admin token (shown once): ${result.token}\n`);
}

@Module({})
export class GatewayModule {
  static async forRoot(config: GatewayConfig, logger: Logger): Promise<DynamicModule> {
    const runtime = await openRuntime({ service: 'gateway', config, logger, poolSize: 10 });
    const { pool, nc, jsm, subjects, metrics } = runtime;
    // Reads have their own pool (and may use the read-only role), so a statement timeout bounds them alone.
    const readPool = createPool(config.DATABASE_READ_URL ?? config.DATABASE_URL, { max: 10, applicationName: 'steward-gateway-read', statementTimeoutMs: config.READ_STATEMENT_TIMEOUT_MS });
    await ensureGatewaySchema(pool);

    const registry = new EventRegistry([...foundationEvents, ...gatewayEvents]);
    const store = new EventStore(pool, { registry, source: 'gateway' });
    const tokenRepository = new TokenRepository(pool);
    const tokens = new TokenService(pool, store, tokenRepository, config.TOKEN_CACHE_TTL_MS);
    announceBootstrap(await tokens.bootstrap(config.STEWARD_BOOTSTRAP_TOKEN), logger);
    const revocations = new TokenRevocationListener(nc, subjects, tokens, logger);
    revocations.start();
    const limiter = new TokenBucketLimiter(config.RATE_LIMIT_RPS, config.RATE_LIMIT_BURST);
    // Reads go through the read pool, which may use the read-only role.
    const readStore = new EventStore(readPool);
    const timeline = new TimelineService(readStore, new TimelineRepository(readPool));
    const streams = new TimelineStreams(timeline, { pollMs: config.TIMELINE_STREAM_POLL_MS, keepaliveMs: config.TIMELINE_STREAM_KEEPALIVE_MS }, logger);

    const directory = new PresenceDirectory(nc, subjects);
    const presence = new PresenceReporter(nc, subjects, {
      service: 'gateway',
      capabilities: ['api', 'timeline', 'verify'],
      onError: (err) => logger.warn('presence report failed', { err }),
    });
    const bus = new CommandBus(nc, subjects, { logger, defaultTimeoutMs: config.COMMAND_TIMEOUT_MS });
    const dispatcher = new CommandDispatcher(store, bus, directory, { timeoutMs: config.COMMAND_TIMEOUT_MS });

    const verifyDeps = {
      store: readStore,
      checkpoints: new CheckpointStore(readPool),
      repository: new VerifyRepository(readPool),
      reader: new EventStreamReader(jetstream(nc), jsm, subjects.stream('EVENTS')),
      relayName: config.RELAY_NAME,
      maxRelayLagMs: config.VERIFY_MAX_RELAY_LAG_MS,
      logger,
    };

    return {
      module: GatewayModule,
      imports: [
        HealthModule.forRoot(metrics, [
          ...runtimeChecks(runtime),
        ]),
      ],
      controllers: [...API_CONTROLLERS, OpenApiController],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: READ_POOL, useValue: readPool },
        { provide: NATS, useValue: nc },
        { provide: TokenService, useValue: tokens },
        { provide: TokenRevocationListener, useValue: revocations },
        { provide: TimelineService, useValue: timeline },
        { provide: TimelineStreams, useValue: streams },
        { provide: SERVICE_DIRECTORY, useValue: directory },
        { provide: OPENAPI_DOCUMENT, useValue: openApiDocument() },
        { provide: PresenceReporter, useValue: presence },
        { provide: CommandBus, useValue: bus },
        { provide: CommandDispatcher, useValue: dispatcher },
        { provide: ReadModelGate, useValue: new ReadModelGate(directory) },
        { provide: RunReadsService, useValue: new RunReadsService(new RunReadsRepository(readPool), new ReadModelGate(directory)) },
        { provide: WorkflowReads, useValue: new WorkflowReads(new WorkflowReadRepository(readPool)) },
        // Later projections add their checkers to this list.
        { provide: PROJECTION_CHECKERS, useValue: [new TokenProjectionChecker(tokenRepository), new CostReconciliationChecker(readPool), new ProjectionRebuildsChecker(readPool)] satisfies ProjectionChecker[] },
        {
          provide: VerifyService,
          inject: [PROJECTION_CHECKERS],
          useFactory: (checkers: ProjectionChecker[]) => new VerifyService({ ...verifyDeps, checkers }),
        },
        { provide: APP_GUARD, useValue: new AuthGuard(new Reflector(), tokens, limiter) },
        { provide: APP_FILTER, useValue: new ApiExceptionFilter(logger, config.BODY_LIMIT.label) },
        { provide: APP_INTERCEPTOR, useValue: new HttpReplyInterceptor() },
        httpPlumbingProvider({ bodyLimitBytes: config.BODY_LIMIT.bytes, metrics }),
        GatewayLifecycle,
      ],
    };
  }
}
