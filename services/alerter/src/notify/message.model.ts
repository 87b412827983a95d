import type { AlertSeverity, ChannelType } from '@steward/contracts';
import type { Labels } from '../domain/fingerprint';

/** One alert as a notification tells it: what broke, since when, the last error, the owner, the runbook and the timeline command. */
export interface NotifiedAlert {
  alertId: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  acknowledged: boolean;
  rule: string;
  severity: AlertSeverity;
  labels: Labels;
  summary: string;
  owner: string | null;
  workflowId: string | null;
  runbook: string | null;
  runbookUrl: string | null;
  since: string;
  firedAt: string | null;
  resolvedAt: string | null;
  lastError: string | null;
  timeline: string;
  actions: string[];
}

/**
 * The channel-independent content of one notification, stored in the
 * outbox row, so a retry after a restart sends exactly the same message.
 */
export interface NotificationMessage {
  kind: 'group' | 'escalation';
  receiver: string;
  channel: ChannelType;
  groupKey: string;
  groupLabels: Labels;
  status: 'firing' | 'resolved';
  /** PagerDuty's view of the group: trigger while something fires unacknowledged. */
  incidentAction: 'trigger' | 'acknowledge' | 'resolve';
  alerts: NotifiedAlert[];
  escalation?: { policy: string; step: number; loop: number };
  externalUrl: string;
}
