import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry } from '@steward/contracts';
import { createPool, EventStore } from '@steward/event-store';
import { connectNats, PresenceReporter } from '@steward/messaging';
import { HealthModule, type Logger } from '@steward/observability';
import { closeRuntime, openRuntime, ProjectionRebuildRunner, runtimeChecks, type ServiceRuntime } from '@steward/runtime';
import type { LedgerConfig } from './config';
import { RelayService } from './relay/relay.service';
import { LedgerCommandConsumer } from './replay/command.consumer';
import { ledgerRebuildTarget } from './replay/projection.rebuild';
import { ReplayCommands } from './replay/replay.commands';
import { ensureLedgerSchema } from './replay/replay.migrations';
import { ReplayPublisher } from './replay/replay.publisher';

const RUNTIME = Symbol('RUNTIME');
const PRESENCE = Symbol('PRESENCE');
const REPLAY_RESOURCES = Symbol('REPLAY_RESOURCES');

/** What the gateway may send the ledger (`steward.cmd.ledger.<name>`). */
export const LEDGER_CAPABILITIES = ['relay', 'replay', 'cmd:start_replay', 'cmd:cancel_replay'];

/** The replay side's own connections: replays never hold what the relay needs. */
interface ReplayResources {
  pool: Pool;
  nc: NatsConnection;
}

/** Owns the process-wide resources and closes them after the relay and the replays stopped. */
@Injectable()
class LedgerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly relay: RelayService,
    private readonly replays: ReplayPublisher,
    private readonly commands: LedgerCommandConsumer,
    private readonly rebuilds: ProjectionRebuildRunner,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(PRESENCE) private readonly presence: PresenceReporter,
    @Inject(REPLAY_RESOURCES) private readonly resources: ReplayResources,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.relay.start();
    this.replays.start();
    this.commands.start();
    await this.rebuilds.start();
    await this.presence.start();
  }

  async onApplicationShutdown(): Promise<void> {
    // Leave the directory first: from here on this instance takes no more work.
    await this.presence.stop();
    await this.commands.stop();
    await this.rebuilds.stop();
    await this.replays.stop();
    await this.relay.stop();
    // Drained when NATS is there, closed when not: reconnect attempts must not keep the process alive.
    await closeRuntime(this.resources);
    await closeRuntime(this.runtime);
  }
}

@Module({})
export class LedgerModule {
  static async forRoot(config: LedgerConfig, logger: Logger): Promise<DynamicModule> {
    // The relay is the hottest publisher: no per-publish async stack capture.
    const runtime = await openRuntime({ service: 'ledger', config, logger, poolSize: 4, nats: { noAsyncTraces: true } });
    const { pool, nc, jsm, subjects, metrics } = runtime;
    await ensureLedgerSchema(pool);
    const registry = new EventRegistry(allEvents);
    const store = new EventStore(pool, { registry, source: 'ledger' });
    const presence = new PresenceReporter(nc, subjects, {
      service: 'ledger',
      capabilities: LEDGER_CAPABILITIES,
      onError: (err) => logger.warn('presence report failed', { err }),
    });
    const relay = new RelayService(
      // The registry gives routed types (step.queued, timer.fired) their last subject token.
      { databaseUrl: config.DATABASE_URL, pool, nc, jsm, subjects, registry, logger, metrics },
      { name: config.RELAY_NAME, batchSize: config.RELAY_BATCH_SIZE, pollMs: config.RELAY_POLL_MS, lockRetryMs: config.RELAY_LOCK_RETRY_MS },
    );
    const resources: ReplayResources = {
      pool: createPool(config.DATABASE_URL, { max: 4, applicationName: 'steward-ledger-replay' }),
      nc: await connectNats(config.NATS_URL, 'ledger-replay', { noAsyncTraces: true }),
    };
    const replays = new ReplayPublisher(
      { databaseUrl: config.DATABASE_URL, pool: resources.pool, js: jetstream(resources.nc), subjects, store: new EventStore(resources.pool, { registry, source: 'ledger' }), logger, metrics },
      {
        relayName: config.RELAY_NAME,
        pageSize: config.LEDGER_REPLAY_PAGE_SIZE,
        progressEvery: config.LEDGER_REPLAY_PROGRESS_EVERY,
        progressMs: config.LEDGER_REPLAY_PROGRESS_MS,
        pollMs: config.LEDGER_REPLAY_POLL_MS,
        lockRetryMs: config.RELAY_LOCK_RETRY_MS,
        relayLagLimit: config.LEDGER_REPLAY_RELAY_LAG_LIMIT,
        yieldMs: config.LEDGER_REPLAY_YIELD_MS,
      },
    );
    const replayCommands = new ReplayCommands(pool, store, { allTypes: registry.all().map((d) => d.type) });
    const commands = new LedgerCommandConsumer(
      { nc, jsm, subjects, commands: replayCommands, logger, metrics, onStarted: () => replays.signal() },
      { fetchExpiresMs: 5000, ackWaitMs: config.LEDGER_COMMAND_ACK_WAIT_MS, maxDeliver: 10 },
    );
    // The ledger's own recovery: `steward replay start --rebuild ledger` refills a shadow table and compares it.
    const rebuilds = ProjectionRebuildRunner.for(ledgerRebuildTarget(), { pool: resources.pool, nc: resources.nc, subjects, registry, logger }, config);
    return {
      module: LedgerModule,
      imports: [
        HealthModule.forRoot(metrics, [
          ...runtimeChecks(runtime),
          // A standby replica is healthy and ready: it takes over when the leader dies.
          { name: 'relay', check: () => relay.status === 'active' || relay.status === 'standby' },
          { name: 'replays', check: () => replays.status === 'active' || replays.status === 'standby' },
          { name: 'commands', check: () => commands.isReady },
        ]),
      ],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: PRESENCE, useValue: presence },
        { provide: REPLAY_RESOURCES, useValue: resources },
        { provide: RelayService, useValue: relay },
        { provide: ReplayPublisher, useValue: replays },
        { provide: LedgerCommandConsumer, useValue: commands },
        { provide: ProjectionRebuildRunner, useValue: rebuilds },
        LedgerLifecycle,
      ],
    };
  }
}
