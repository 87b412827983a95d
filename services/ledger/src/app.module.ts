import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Subjects } from '@steward/contracts';
import { createPool, migrate } from '@steward/event-store';
import { connectNats, declareTopology, provisionStreams } from '@steward/messaging';
import { HealthModule, Metrics, type Logger } from '@steward/observability';
import type { LedgerConfig } from './config';
import { RelayService } from './relay/relay.service';

const POOL = Symbol('POOL');
const NATS = Symbol('NATS');

/** Owns the process-wide resources and closes them after the relay stopped. */
@Injectable()
class LedgerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly relay: RelayService,
    @Inject(POOL) private readonly pool: Pool,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.nc.drain().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

@Module({})
export class LedgerModule {
  static async forRoot(config: LedgerConfig, logger: Logger): Promise<DynamicModule> {
    const metrics = new Metrics('ledger');
    if (config.MIGRATE_ON_START) await migrate(config.DATABASE_URL);
    const pool = createPool(config.DATABASE_URL, { max: 4, applicationName: 'steward-ledger' });
    const nc = await connectNats(config.NATS_URL, 'steward-ledger');
    const subjects = new Subjects(config.STEWARD_NAMESPACE);
    const jsm = await jetstreamManager(nc);
    await provisionStreams(jsm, declareTopology(subjects), logger);
    const relay = new RelayService(
      { databaseUrl: config.DATABASE_URL, pool, js: jetstream(nc), jsm, subjects, logger, metrics },
      { name: config.RELAY_NAME, batchSize: config.RELAY_BATCH_SIZE, pollMs: config.RELAY_POLL_MS, lockRetryMs: config.RELAY_LOCK_RETRY_MS },
    );
    return {
      module: LedgerModule,
      imports: [
        HealthModule.forRoot(metrics, [
          { name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 },
          { name: 'nats', check: () => !nc.isClosed() },
          // A standby replica is healthy and ready: it takes over when the leader dies.
          { name: 'relay', check: () => relay.status === 'active' || relay.status === 'standby' },
        ]),
      ],
      providers: [
        { provide: POOL, useValue: pool },
        { provide: NATS, useValue: nc },
        { provide: RelayService, useValue: relay },
        LedgerLifecycle,
      ],
    };
  }
}
