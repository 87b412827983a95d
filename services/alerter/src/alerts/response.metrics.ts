import type { Pool } from 'pg';
import type { Metrics } from '@steward/observability';
import type { Clock } from '../clock';

const DAY_MS = 86_400_000;

/**
 * Incident response figures, from alerter_alerts over the last 30 days
 * (the same table `steward reports ops` reads): MTTD (impact start to
 * firing), MTTA (firing to acknowledgement), MTTR (impact start to
 * resolve), alert fatigue (share of notified alerts resolved without
 * anyone acknowledging them) and pages per owner over the last 12 hours.
 */
export class ResponseMetrics {
  private readonly mttd;
  private readonly mtta;
  private readonly mttr;
  private readonly fatigue;
  private readonly pages;
  private readonly open;

  constructor(
    private readonly pool: Pool,
    metrics: Metrics,
    private readonly clock: Clock,
  ) {
    this.mttd = metrics.gauge('steward_alerter_mttd_seconds', 'Mean time from impact start to the alert firing, last 30 days');
    this.mtta = metrics.gauge('steward_alerter_mtta_seconds', 'Mean time from firing to acknowledgement, last 30 days');
    this.mttr = metrics.gauge('steward_alerter_mttr_seconds', 'Mean time from impact start (first failure) to resolve, last 30 days');
    this.fatigue = metrics.gauge('steward_alerter_alert_fatigue_ratio', 'Share of notified alerts resolved without acknowledgement, last 30 days');
    this.pages = metrics.gauge('steward_alerter_pages_12h', 'Page-severity alerts fired per owner in the last 12 hours', ['owner']);
    this.open = metrics.gauge('steward_alerter_alerts', 'Alerts by state right now (resolved: last 30 days)', ['state']);
  }

  async refresh(): Promise<void> {
    const now = this.clock.now();
    const since = new Date(now.getTime() - 30 * DAY_MS);
    const { rows } = await this.pool.query<{ mttd: number | null; mtta: number | null; mttr: number | null; notified_resolved: string; unacked: string }>(
      `SELECT avg(extract(epoch FROM fired_at - COALESCE(impact_started_at, pending_at))) FILTER (WHERE fired_at IS NOT NULL) AS mttd,
              avg(extract(epoch FROM acknowledged_at - fired_at)) FILTER (WHERE acknowledged_at IS NOT NULL) AS mtta,
              avg(extract(epoch FROM resolved_at - COALESCE(impact_started_at, fired_at))) FILTER (WHERE resolved_at IS NOT NULL AND fired_at IS NOT NULL) AS mttr,
              count(*) FILTER (WHERE notified AND state = 'resolved') AS notified_resolved,
              count(*) FILTER (WHERE notified AND state = 'resolved' AND acknowledged_at IS NULL) AS unacked
       FROM alerter_alerts WHERE pending_at >= $1`,
      [since],
    );
    const r = rows[0]!;
    this.mttd.set(Math.max(0, Number(r.mttd ?? 0)));
    this.mtta.set(Math.max(0, Number(r.mtta ?? 0)));
    this.mttr.set(Math.max(0, Number(r.mttr ?? 0)));
    const notified = Number(r.notified_resolved);
    this.fatigue.set(notified === 0 ? 0 : Number(r.unacked) / notified);
    const pages = await this.pool.query<{ owner: string; n: string }>(
      `SELECT COALESCE(owner, 'unowned') AS owner, count(*) AS n FROM alerter_alerts WHERE severity = 'page' AND fired_at >= $1 GROUP BY 1`,
      [new Date(now.getTime() - 12 * 3_600_000)],
    );
    this.pages.reset();
    for (const p of pages.rows) this.pages.set({ owner: p.owner }, Number(p.n));
    const states = await this.pool.query<{ state: string; n: string }>(`SELECT state, count(*) AS n FROM alerter_alerts WHERE state <> 'resolved' OR resolved_at >= $1 GROUP BY state`, [since]);
    this.open.reset();
    for (const s of ['pending', 'firing', 'acknowledged', 'resolved']) this.open.set({ state: s }, Number(states.rows.find((x) => x.state === s)?.n ?? 0));
  }
}
