import type { Pool } from 'pg';

// Read-only SQL over the alerter's projection tables (alerter_alerts,
// alerter_silences, alerter_rule_sets). The alerter owns and writes them.

export interface AlertRow {
  alert_id: string;
  fingerprint: string;
  rule: string;
  severity: string;
  owner: string | null;
  workflow_id: string | null;
  state: 'pending' | 'firing' | 'acknowledged' | 'resolved';
  summary: string | null;
  labels: Record<string, string>;
  runbook: string | null;
  impact_started_at: Date | null;
  pending_at: Date;
  fired_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  notified: boolean;
  last_error: string | null;
}

export interface SilenceRow {
  silence_id: string;
  matchers: Array<{ name: string; value: string; isRegex?: boolean; isEqual?: boolean }>;
  starts_at: Date;
  ends_at: Date;
  created_by: string;
  comment: string | null;
  created_at: Date;
  expired_at: Date | null;
  expired_by: string | null;
}

export interface RuleSetRow {
  hash: string;
  spec: { rules?: Array<Record<string, unknown>>; receivers?: Array<Record<string, unknown>>; inhibitions?: unknown[]; escalations?: unknown[] };
  file: string | null;
  applied_by: string | null;
  applied_at: Date;
}

export interface Keyset {
  at: string;
  id: string;
}

export class AlertReadsRepository {
  constructor(private readonly pool: Pool) {}

  /** Newest first by when the alert opened; `after` is the last row of the previous page. */
  async listAlerts(filter: { state?: string; workflow?: string; after?: Keyset; limit: number }): Promise<AlertRow[]> {
    const { rows } = await this.pool.query<AlertRow>(
      `SELECT alert_id, fingerprint, rule, severity, owner, workflow_id, state, summary, labels, runbook, impact_started_at, pending_at,
              fired_at, acknowledged_at, acknowledged_by, resolved_at, notified, last_error
       FROM alerter_alerts
       WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR workflow_id = $2)
         AND ($3::timestamptz IS NULL OR (pending_at, alert_id) < ($3::timestamptz, $4::text))
       ORDER BY pending_at DESC, alert_id DESC LIMIT $5`,
      [filter.state ?? null, filter.workflow ?? null, filter.after?.at ?? null, filter.after?.id ?? null, filter.limit + 1],
    );
    return rows;
  }

  async listSilences(filter: { state: 'active' | 'expired' | 'all'; after?: Keyset; limit: number }): Promise<SilenceRow[]> {
    const { rows } = await this.pool.query<SilenceRow>(
      `SELECT silence_id, matchers, starts_at, ends_at, created_by, comment, created_at, expired_at, expired_by FROM alerter_silences
       WHERE ($1 = 'all' OR ($1 = 'active' AND expired_at IS NULL) OR ($1 = 'expired' AND expired_at IS NOT NULL))
         AND ($2::timestamptz IS NULL OR (created_at, silence_id) < ($2::timestamptz, $3::text))
       ORDER BY created_at DESC, silence_id DESC LIMIT $4`,
      [filter.state, filter.after?.at ?? null, filter.after?.id ?? null, filter.limit + 1],
    );
    return rows;
  }

  async ruleSet(): Promise<RuleSetRow | undefined> {
    const { rows } = await this.pool.query<RuleSetRow>(`SELECT hash, spec, file, applied_by, applied_at FROM alerter_rule_sets WHERE id = 1`);
    return rows[0];
  }
}
