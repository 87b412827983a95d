import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import { PresenceDirectory } from '@steward/messaging';
import type { Condition } from './alert.model';
import { builtinRunbook } from './workflow.conditions';

export const PLATFORM_SCOPE = 'platform';

export interface PlatformSettings {
  consumerLagThreshold: number;
  consumerLagForMs: number;
}

export interface PlatformObservation {
  live: Set<string>;
  consumers: Array<{ stream: string; consumer: string; pending: number; ackPending: number }>;
}

/**
 * Signals about the platform itself, read from NATS on the ticker: a
 * service that stopped reporting in the presence directory (one that was
 * seen before: a service never deployed is not down), and durable consumers
 * whose backlog keeps growing past a threshold.
 */
export class PlatformProbe {
  private jsm: Promise<JetStreamManager> | undefined;
  private readonly directory: PresenceDirectory;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly settings: PlatformSettings,
  ) {
    this.directory = new PresenceDirectory(nc, subjects);
  }

  async observe(): Promise<PlatformObservation> {
    const live = new Set((await this.directory.list()).map((e) => e.service));
    this.jsm ??= jetstreamManager(this.nc);
    const jsm = await this.jsm;
    const consumers: PlatformObservation['consumers'] = [];
    for (const kind of ['EVENTS', 'COMMANDS'] as const) {
      const stream = this.subjects.stream(kind);
      try {
        for await (const c of jsm.consumers.list(stream)) {
          if (c.config.durable_name) consumers.push({ stream: kind, consumer: c.config.durable_name, pending: c.num_pending, ackPending: c.num_ack_pending });
        }
      } catch {
        // A stream that does not exist yet has no consumers to lag.
      }
    }
    return { live, consumers };
  }

  /** Records the services seen live and turns the observation into conditions. */
  async conditions(tx: Queryable, seen: PlatformObservation, now: Date): Promise<Condition[]> {
    for (const service of seen.live) {
      await tx.query(`INSERT INTO alerter_services (service, first_seen_at, last_seen_at) VALUES ($1, $2, $2) ON CONFLICT (service) DO UPDATE SET last_seen_at = $2`, [service, now]);
    }
    const { rows } = await tx.query<{ service: string; last_seen_at: Date }>(`SELECT service, last_seen_at FROM alerter_services ORDER BY service`);
    const down: Condition[] = rows.map((r) => {
      const identity = { alertname: 'service_down', service: r.service };
      return {
        scope: PLATFORM_SCOPE,
        rule: 'service_down',
        severity: 'page',
        identity,
        labels: { ...identity, severity: 'page' },
        active: !seen.live.has(r.service),
        forMs: 0,
        keepFiringForMs: 0,
        summary: `the ${r.service} service stopped reporting ready: no instance in the presence directory since ${r.last_seen_at.toISOString()}`,
        runbook: builtinRunbook('service_down'),
        impactStartedAt: r.last_seen_at,
      };
    });
    const lag: Condition[] = seen.consumers.map((c) => {
      const identity = { alertname: 'consumer_lag', stream: c.stream, consumer: c.consumer };
      return {
        scope: PLATFORM_SCOPE,
        rule: 'consumer_lag',
        severity: 'ticket',
        identity,
        labels: { ...identity, severity: 'ticket' },
        active: c.pending > this.settings.consumerLagThreshold,
        forMs: this.settings.consumerLagForMs,
        keepFiringForMs: 0,
        summary: `consumer ${c.consumer} on ${c.stream} has ${c.pending} messages waiting and ${c.ackPending} in flight (threshold ${this.settings.consumerLagThreshold})`,
        runbook: builtinRunbook('consumer_lag'),
        value: c.pending,
      };
    });
    return [...down, ...lag];
  }
}
