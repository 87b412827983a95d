import type { Pool } from 'pg';
import type { PresenceEntry } from '@steward/messaging';

/**
 * Samples the presence directory: one row per expected service and sample,
 * up when at least one instance reported within its lease. The ops report's
 * uptime is the share of up samples. Services are the configured list plus
 * any seen, so a service that never started counts as down, not as absent.
 * Sample times are aligned to the interval, so replicas sampling the same
 * interval write one row (the first wins).
 */
export class UptimeSampler {
  constructor(
    private readonly pool: Pool,
    private readonly directory: { list(): Promise<PresenceEntry[]> },
    private readonly expected: readonly string[],
  ) {}

  async sample(now: Date, everyMs = 60_000): Promise<Map<string, boolean>> {
    const at = new Date(Math.floor(now.getTime() / everyMs) * everyMs);
    const live = new Set((await this.directory.list()).map((e) => e.service));
    const services = [...new Set([...this.expected, ...live])].sort();
    const up = new Map(services.map((s) => [s, live.has(s)]));
    await this.pool.query(
      `INSERT INTO cost_uptime_samples (service, sampled_at, up) SELECT t.service, $3::timestamptz, t.up FROM unnest($1::text[], $2::boolean[]) AS t(service, up) ON CONFLICT DO NOTHING`,
      [services, services.map((s) => up.get(s)!), at],
    );
    return up;
  }
}
