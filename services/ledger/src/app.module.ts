import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import { allEvents, EventRegistry } from '@steward/contracts';
import { PresenceReporter } from '@steward/messaging';
import { HealthModule, type Logger } from '@steward/observability';
import { closeRuntime, openRuntime, runtimeChecks, type ServiceRuntime } from '@steward/runtime';
import type { LedgerConfig } from './config';
import { RelayService } from './relay/relay.service';

const RUNTIME = Symbol('RUNTIME');
const PRESENCE = Symbol('PRESENCE');

/** Owns the process-wide resources and closes them after the relay stopped. */
@Injectable()
class LedgerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly relay: RelayService,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
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
    await closeRuntime(this.runtime);
  }
}

@Module({})
export class LedgerModule {
  static async forRoot(config: LedgerConfig, logger: Logger): Promise<DynamicModule> {
    // The relay is the hottest publisher: no per-publish async stack capture.
    const runtime = await openRuntime({ service: 'ledger', config, logger, poolSize: 4, nats: { noAsyncTraces: true } });
    const { pool, nc, jsm, subjects, metrics } = runtime;
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
          ...runtimeChecks(runtime),
          // A standby replica is healthy and ready: it takes over when the leader dies.
          { name: 'relay', check: () => relay.status === 'active' || relay.status === 'standby' },
        ]),
      ],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: PRESENCE, useValue: presence },
        { provide: RelayService, useValue: relay },
        LedgerLifecycle,
      ],
    };
  }
}
