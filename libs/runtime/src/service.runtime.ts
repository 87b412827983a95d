import type { Pool } from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Subjects } from '@steward/contracts';
import { createPool, migrate } from '@steward/event-store';
import { connectNats, declareTopology, natsReachable, provisionStreams, type ConnectNatsOptions } from '@steward/messaging';
import { Metrics, type Logger, type ReadinessCheck } from '@steward/observability';

/** The process-wide resources of one Steward service. */
export interface ServiceRuntime {
  service: string;
  pool: Pool;
  nc: NatsConnection;
  jsm: JetStreamManager;
  subjects: Subjects;
  metrics: Metrics;
}

export interface RuntimeConfig {
  DATABASE_URL: string;
  NATS_URL: string;
  STEWARD_NAMESPACE: string;
  MIGRATE_ON_START: boolean;
}

export interface OpenRuntimeOptions {
  service: string;
  config: RuntimeConfig;
  logger: Logger;
  /** Postgres connections: one per concurrent handler transaction, plus headroom. */
  poolSize: number;
  nats?: ConnectNatsOptions;
  /** Create missing streams (drift is reported, never changed). Default true. */
  provisionStreams?: boolean;
}

/**
 * Opens what every service needs, in the same order everywhere: the event
 * store migration when MIGRATE_ON_START is set, a Postgres pool, a NATS
 * connection that reconnects forever, and the streams.
 */
export async function openRuntime(options: OpenRuntimeOptions): Promise<ServiceRuntime> {
  const { service, config, logger } = options;
  const metrics = new Metrics(service);
  if (config.MIGRATE_ON_START) await migrate(config.DATABASE_URL);
  const pool = createPool(config.DATABASE_URL, { max: options.poolSize, applicationName: `steward-${service}` });
  try {
    const nc = await connectNats(config.NATS_URL, `steward-${service}`, options.nats);
    const subjects = new Subjects(config.STEWARD_NAMESPACE);
    const jsm = await jetstreamManager(nc);
    if (options.provisionStreams !== false) await provisionStreams(jsm, declareTopology(subjects), logger);
    return { service, pool, nc, jsm, subjects, metrics };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

/** Readiness of the runtime itself: Postgres answers and NATS answers a round trip. */
export function runtimeChecks(runtime: ServiceRuntime): ReadinessCheck[] {
  return [
    { name: 'postgres', check: async () => (await runtime.pool.query('SELECT 1')).rowCount === 1 },
    { name: 'nats', check: () => natsReachable(runtime.nc) },
  ];
}

/**
 * Closes after the service stopped its own work. A drain needs the server;
 * with NATS away, close instead so reconnect attempts do not keep the process alive.
 */
export async function closeRuntime(runtime: Pick<ServiceRuntime, 'nc' | 'pool'>): Promise<void> {
  const reachable = await natsReachable(runtime.nc).catch(() => false);
  await (reachable ? runtime.nc.drain() : runtime.nc.close()).catch(() => runtime.nc.close());
  await runtime.pool.end().catch(() => undefined);
}
