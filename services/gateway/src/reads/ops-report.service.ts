import type { OpsReportRepository } from './ops-report.repository';
import { usdOf } from './cost-reads.service';

export interface Missing {
  part: string;
  service: string;
  reason: string;
}

const TERMINAL_FOR_SUCCESS = ['succeeded', 'failed', 'timed_out'];

/** The operations report: each part from its owner's tables, or listed as missing. */
export class OpsReportService {
  constructor(
    private readonly repository: OpsReportRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async build(since: string, sinceMs: number) {
    const generatedAt = this.now();
    const from = new Date(generatedAt.getTime() - sinceMs);
    const tables = await this.repository.existing(['executor_runs', 'alerter_alerts', 'cost_uptime_samples', 'cost_capacity_plans', 'cost_records']);
    const missing: Missing[] = [];
    const parts: Record<string, unknown> = {};
    const absent = (part: string, service: string, table: string) => missing.push({ part, service, reason: `no ${table} table: the ${service} service never ran against this database` });

    if (tables.has('cost_uptime_samples')) {
      const rows = await this.repository.uptime(from);
      if (rows.length === 0) missing.push({ part: 'uptime', service: 'cost-tracker', reason: 'no presence samples in this window (COST_UPTIME_SAMPLE_MS=0?)' });
      else {
        parts.uptime = Object.fromEntries(
          rows.map((r) => [r.service, { ratio: r.up / r.samples, samples: r.samples, from: r.first_sample.toISOString(), to: r.last_sample.toISOString() }]),
        );
      }
    } else absent('uptime', 'cost-tracker', 'cost_uptime_samples');

    if (tables.has('executor_runs')) {
      const rows = await this.repository.runOutcomes(from);
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.runs]));
      const ended = TERMINAL_FOR_SUCCESS.reduce((a, s) => a + (byStatus[s] ?? 0), 0);
      // Cancelled runs are an operator's choice, not a failure: left out of the rate.
      parts.successRate = { ratio: ended > 0 ? (byStatus.succeeded ?? 0) / ended : null, runs: ended, byStatus };
    } else absent('successRate', 'executor', 'executor_runs');

    if (tables.has('alerter_alerts')) {
      const s = await this.repository.alertStats(from);
      const days = Math.max(sinceMs / 86_400_000, 1 / 24);
      parts.mttd = { ms: s.mttd_ms, alerts: s.detected };
      parts.mtta = { ms: s.mtta_ms, alerts: s.acknowledged };
      parts.mttr = { ms: s.mttr_ms, alerts: s.resolved };
      parts.alertFatigue = {
        firedAlerts: s.fired,
        // Alerts nobody acknowledged: noise a responder learned to ignore.
        neverAcknowledgedRatio: s.fired > 0 ? s.never_acknowledged / s.fired : null,
        nonCriticalPerDay: s.non_critical / days,
      };
      parts.incidentsBySeverity = Object.fromEntries((await this.repository.incidentsBySeverity(from)).map((r) => [r.severity, r.incidents]));
    } else for (const part of ['mttd', 'mtta', 'mttr', 'alertFatigue', 'incidentsBySeverity']) absent(part, 'alerter', 'alerter_alerts');

    if (tables.has('cost_capacity_plans')) {
      const plans = await this.repository.capacityPlans();
      if (plans.length === 0) missing.push({ part: 'capacity', service: 'cost-tracker', reason: 'no capacity plan computed yet' });
      else parts.capacity = Object.fromEntries(plans.map((p) => [p.queue, { ...p.plan, computedAt: p.computed_at.toISOString() }]));
    } else absent('capacity', 'cost-tracker', 'cost_capacity_plans');

    if (tables.has('cost_records')) {
      const s = await this.repository.spend(from);
      parts.spend = { totalMicros: s.total_micros, usd: usdOf(s.total_micros), records: s.records };
    } else absent('spend', 'cost-tracker', 'cost_records');

    return { since, generatedAt: generatedAt.toISOString(), from: from.toISOString(), ...parts, missing };
  }
}
