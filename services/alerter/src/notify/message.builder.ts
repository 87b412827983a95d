import { sha256Hex } from '../domain/fingerprint';
import type { AlertRow } from '../alerts/alert.model';
import type { NotifiedAlert } from './message.model';

const HOUR = 3_600_000;

/**
 * The exact `steward timeline` command for an alert: its workflow's recent
 * history when it has one (far enough back to cover the impact), else the
 * alert's own correlation.
 */
export function timelineCommand(a: Pick<AlertRow, 'alertId' | 'workflowId' | 'impactStartedAt' | 'pendingAt'>, now: Date): string {
  if (a.workflowId === null) return `steward timeline --alert ${a.alertId}`;
  const since = a.impactStartedAt ?? a.pendingAt;
  const hours = Math.max(1, Math.ceil((now.getTime() - since.getTime()) / HOUR));
  return `steward timeline --workflow ${a.workflowId} --since ${hours}h`;
}

export function runbookUrl(runbook: string | null, base: string): string | null {
  if (runbook === null) return null;
  if (/^https?:\/\//.test(runbook) || base === '') return runbook;
  return `${base.replace(/\/$/, '')}/${runbook.replace(/^\//, '')}`;
}

export function notifiedAlert(a: AlertRow, now: Date, runbookBase: string, actions: string[] = []): NotifiedAlert {
  return {
    alertId: a.alertId,
    fingerprint: a.fingerprint,
    status: a.state === 'resolved' ? 'resolved' : 'firing',
    acknowledged: a.state === 'acknowledged',
    rule: a.rule,
    severity: a.severity,
    labels: a.labels,
    summary: a.summary ?? a.rule,
    owner: a.owner,
    workflowId: a.workflowId,
    runbook: a.runbook,
    runbookUrl: runbookUrl(a.runbook, runbookBase),
    since: (a.impactStartedAt ?? a.firedAt ?? a.pendingAt).toISOString(),
    firedAt: a.firedAt?.toISOString() ?? null,
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
    lastError: a.lastError,
    timeline: timelineCommand(a, now),
    actions,
  };
}

/** Short, stable ids: a notification's id is its dedupe key's digest. */
export const notificationIdOf = (dedupeKey: string): string => `n-${sha256Hex(dedupeKey).slice(0, 32)}`;
