import type { AlertSeverity } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { AlertRow, AlertState } from '../alerts/alert.model';

interface Row {
  alert_id: string;
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  owner: string | null;
  workflow_id: string | null;
  state: AlertState;
  summary: string | null;
  labels: Record<string, string>;
  runbook: string | null;
  impact_started_at: Date | null;
  pending_at: Date;
  fired_at: Date | null;
  acknowledged_at: Date | null;
  resolved_at: Date | null;
  notified: boolean;
  last_error: string | null;
  value: number | null;
  inactive_since: Date | null;
  scope: string;
  for_ms: string;
  keep_firing_for_ms: string;
  stream_version: number;
}

const toAlert = (r: Row): AlertRow => ({
  alertId: r.alert_id,
  fingerprint: r.fingerprint,
  rule: r.rule,
  severity: r.severity,
  owner: r.owner,
  workflowId: r.workflow_id,
  state: r.state,
  summary: r.summary,
  labels: r.labels,
  runbook: r.runbook,
  impactStartedAt: r.impact_started_at,
  pendingAt: r.pending_at,
  firedAt: r.fired_at,
  acknowledgedAt: r.acknowledged_at,
  resolvedAt: r.resolved_at,
  notified: r.notified,
  lastError: r.last_error,
  value: r.value,
  inactiveSince: r.inactive_since,
  scope: r.scope,
  forMs: Number(r.for_ms),
  keepFiringForMs: Number(r.keep_firing_for_ms),
  streamVersion: r.stream_version,
});

/** alerter_alerts: the alerts' current state, written in the transaction that records their events. */
export class AlertRepository {
  async findOpenByScope(tx: Queryable, scope: string): Promise<AlertRow[]> {
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_alerts WHERE scope = $1 AND state <> 'resolved' FOR UPDATE`, [scope]);
    return rows.map(toAlert);
  }

  /** Open alerts of many scopes, locked in alert id order (one statement for a batch's scopes). */
  async findOpenByScopes(tx: Queryable, scopes: readonly string[]): Promise<Map<string, AlertRow[]>> {
    const out = new Map<string, AlertRow[]>(scopes.map((s) => [s, []]));
    if (scopes.length === 0) return out;
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_alerts WHERE scope = ANY($1::text[]) AND state <> 'resolved' ORDER BY alert_id FOR UPDATE`, [scopes]);
    for (const r of rows) out.get(r.scope)?.push(toAlert(r));
    return out;
  }

  async findById(tx: Queryable, alertId: string, lock = false): Promise<AlertRow | undefined> {
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_alerts WHERE alert_id = $1${lock ? ' FOR UPDATE' : ''}`, [alertId]);
    return rows[0] && toAlert(rows[0]);
  }

  async findByIds(tx: Queryable, alertIds: readonly string[]): Promise<AlertRow[]> {
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_alerts WHERE alert_id = ANY($1::text[])`, [alertIds]);
    return rows.map(toAlert);
  }

  async findFiring(tx: Queryable): Promise<AlertRow[]> {
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_alerts WHERE state IN ('firing', 'acknowledged')`);
    return rows.map(toAlert);
  }

  async insert(tx: Queryable, a: AlertRow): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_alerts (alert_id, fingerprint, rule, severity, owner, workflow_id, state, summary, labels, runbook, impact_started_at,
         pending_at, fired_at, notified, last_error, value, scope, for_ms, keep_firing_for_ms, stream_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false, $14, $15, $16, $17, $18, $19)`,
      [a.alertId, a.fingerprint, a.rule, a.severity, a.owner, a.workflowId, a.state, a.summary, JSON.stringify(a.labels), a.runbook, a.impactStartedAt, a.pendingAt, a.firedAt, a.lastError, a.value, a.scope, a.forMs, a.keepFiringForMs, a.streamVersion],
    );
  }

  async update(tx: Queryable, alertId: string, changes: Partial<Pick<AlertRow, 'state' | 'summary' | 'firedAt' | 'acknowledgedAt' | 'resolvedAt' | 'notified' | 'lastError' | 'value' | 'inactiveSince' | 'streamVersion'>> & { acknowledgedBy?: string; resolvedReason?: string }): Promise<void> {
    const columns: Record<string, string> = {
      state: 'state',
      summary: 'summary',
      firedAt: 'fired_at',
      acknowledgedAt: 'acknowledged_at',
      resolvedAt: 'resolved_at',
      notified: 'notified',
      lastError: 'last_error',
      value: 'value',
      inactiveSince: 'inactive_since',
      streamVersion: 'stream_version',
      acknowledgedBy: 'acknowledged_by',
      resolvedReason: 'resolved_reason',
    };
    const sets: string[] = [];
    const values: unknown[] = [alertId];
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      values.push(value);
      sets.push(`${columns[key]!} = $${values.length}`);
    }
    if (sets.length > 0) await tx.query(`UPDATE alerter_alerts SET ${sets.join(', ')} WHERE alert_id = $1`, values);
  }

  async markNotified(tx: Queryable, alertIds: readonly string[]): Promise<void> {
    await tx.query(`UPDATE alerter_alerts SET notified = true WHERE alert_id = ANY($1::text[])`, [alertIds]);
  }
}
