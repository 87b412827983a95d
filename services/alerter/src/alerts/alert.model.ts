import type { AlertSeverity } from '@steward/contracts';
import type { Labels } from '../domain/fingerprint';
import type { OpenState } from '../domain/lifecycle';
import type { AlertRule } from '../rules/rules.schema';

export type AlertState = OpenState | 'resolved';

/** One alert as the alerter keeps it (alerter_alerts). */
export interface AlertRow {
  alertId: string;
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  owner: string | null;
  workflowId: string | null;
  state: AlertState;
  summary: string | null;
  labels: Labels;
  runbook: string | null;
  impactStartedAt: Date | null;
  pendingAt: Date;
  firedAt: Date | null;
  acknowledgedAt: Date | null;
  resolvedAt: Date | null;
  notified: boolean;
  lastError: string | null;
  value: number | null;
  inactiveSince: Date | null;
  scope: string;
  forMs: number;
  keepFiringForMs: number;
  streamVersion: number;
}

/**
 * What a rule says about one thing right now: the identity of the alert it
 * would be, whether its condition holds, and what a notification says.
 */
export interface Condition {
  scope: string;
  rule: string;
  severity: AlertSeverity;
  /** Identifying labels: the fingerprint is computed over these. */
  identity: Labels;
  /** Shown and matched (routes, silences, inhibitions); a superset of identity. */
  labels: Labels;
  active: boolean;
  forMs: number;
  keepFiringForMs: number;
  summary: string;
  runbook?: string;
  owner?: string;
  workflowId?: string;
  value?: number;
  lastError?: string;
  impactStartedAt?: Date;
  action?: AlertRule['action'];
}

export const alertStreamId = (alertId: string): string => `alert-${alertId}`;
