import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { allEvents, EventRegistry, Subjects } from '@steward/contracts';
import { createPool, migrate } from '@steward/event-store';
import { connectNats, declareTopology, natsReachable, PresenceReporter, provisionStreams } from '@steward/messaging';
import { HealthModule, Metrics, type Logger } from '@steward/observability';
import type { LedgerConfig } from './config';
import { RelayService } from './relay/relay.service';

const POOL = Symbol('POOL');
const NATS = Symbol('NATS');
const PRESENCE = Symbol('PRESENCE');

/** Owns the process-wide resources and closes them after the relay stopped. */
@Injectable()
class LedgerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly relay: RelayService,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(PRESENCE) private readonly presence: PresenceReporter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.relay.start();
    await this.presence.start();
  }

  async onApplicationShutdown(): Promise<void> {
    // Leave the directory first: from here on this instance takes no more work.
    await this.presence.stop();
    await this.relay.stop();
    // A drain needs the server; with NATS away, close so reconnect attempts do not keep the process alive.
    const reachable = await natsReachable(this.nc).catch(() => false);
    await (reachable ? this.nc.drain() : this.nc.close()).catch(() => this.nc.close());
    await this.pool.end().catch(() => undefined);
  }
}

@Module({})
export class LedgerModule {
  static async forRoot(config: LedgerConfig, logger: Logger): Promise<DynamicModule> {
    const metrics = new Metrics('ledger');
    if (config.MIGRATE_ON_START) await migrate(config.DATABASE_URL);
    const pool = createPool(config.DATABASE_URL, { max: 4, applicationName: 'steward-ledger' });
    const nc = await connectNats(config.NATS_URL, 'steward-ledger', { noAsyncTraces: true });
    const subjects = new Subjects(config.STEWARD_NAMESPACE);
    const jsm = await jetstreamManager(nc);
    await provisionStreams(jsm, declareTopology(subjects), logger);
    const presence = new PresenceReporter(nc, subjects, {
      service: 'ledger',
      capabilities: ['relay'],
      onError: (err) => logger.warn('presence report failed', { err }),
    });
    const relay = new RelayService(
      // The registry gives routed types (step.queued, timer.fired) their last subject token.
      { databaseUrl: config.DATABASE_URL, pool, js: jetstream(nc), jsm, subjects, registry: new EventRegistry(allEvents), logger, metrics },
      { name: config.RELAY_NAME, batchSize: config.RELAY_BATCH_SIZE, pollMs: config.RELAY_POLL_MS, lockRetryMs: config.RELAY_LOCK_RETRY_MS },
    );
    return {
      module: LedgerModule,
      imports: [
        HealthModule.forRoot(metrics, [
          { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
          // A round trip: a reconnecting connection is not closed, but it is not reachable either.
          { name: 'nats', check: () => natsReachable(nc) },
          // A standby replica is healthy and ready: it takes over when the leader dies.
          { name: 'relay', check: () => relay.status === 'active' || relay.status === 'standby' },
        ]),
      ],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: PRESENCE, useValue: presence },
        { provide: RelayService, useValue: relay },
        LedgerLifecycle,
      ],
    };
  }
}
