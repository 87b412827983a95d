import { z } from 'zod';
import { defineEvent } from './registry';

// The alerter's events. An alert's lifecycle, escalation and automated
// actions live in its stream `alert-<alertId>`; each notification in
// `alert-notification-<notificationId>`; silences in `alert-silence-<id>`;
// applied rule sets in `alert-rules`. Payloads name the alert (and its
// workflow and owner where it has them) so the timeline needs no join.

const when = z.iso.datetime({ offset: true });
const alertId = z.string().min(1).max(200);
const labels = z.record(z.string().min(1).max(100), z.string().max(500));
export const ALERT_SEVERITIES = ['page', 'ticket', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
const severity = z.enum(ALERT_SEVERITIES);
export const CHANNEL_TYPES = ['webhook', 'slack', 'pagerduty', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export const ALERT_ACTIONS = ['pause_workflow', 'disable_source', 'scale_up'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];

/** What every lifecycle event repeats about the alert, so one event reads on its own. */
const identity = {
  alertId,
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha-256 hex digest'),
  rule: z.string().min(1).max(200),
  severity,
  labels,
  owner: z.string().max(100).optional(),
  workflowId: z.string().max(100).optional(),
};

export const AlertPending = defineEvent({
  type: 'alert.pending',
  version: 1,
  description: 'A rule condition became true; the alert waits out its `for` period before it fires.',
  schema: z.object({
    ...identity,
    summary: z.string().max(2000),
    runbook: z.string().max(500).optional(),
    forMs: z.number().int().nonnegative(),
    impactStartedAt: when.optional(),
    pendingAt: when,
  }),
});

export const AlertFiring = defineEvent({
  type: 'alert.firing',
  version: 1,
  description: 'An alert fired: its condition held for its `for` period. Notifications and escalation start here.',
  schema: z.object({
    ...identity,
    summary: z.string().max(2000),
    runbook: z.string().max(500).optional(),
    value: z.number().optional(),
    lastError: z.string().max(2000).optional(),
    impactStartedAt: when.optional(),
    firedAt: when,
  }),
});

export const AlertAcknowledged = defineEvent({
  type: 'alert.acknowledged',
  version: 1,
  description: 'Someone took an alert on; its escalation stops.',
  schema: z.object({ ...identity, actor: z.string().min(1).max(200), reason: z.string().max(2000).optional(), acknowledgedAt: when }),
});

export const AlertResolved = defineEvent({
  type: 'alert.resolved',
  version: 1,
  description: 'An alert ended: its condition cleared (after keepFiringFor), it cleared before firing, or an operator resolved it.',
  schema: z.object({
    ...identity,
    reason: z.enum(['condition_cleared', 'cleared_before_firing', 'operator', 'rule_removed']),
    actor: z.string().max(200).optional(),
    resolvedAt: when,
  }),
});

export const AlertEscalated = defineEvent({
  type: 'alert.escalated',
  version: 1,
  description: 'An escalation step of an unacknowledged alert ran: its receivers were notified.',
  schema: z.object({
    alertId,
    policy: z.string().min(1).max(200),
    step: z.number().int().nonnegative(),
    loop: z.number().int().nonnegative(),
    receivers: z.array(z.string().min(1).max(100)).min(1),
    owner: z.string().max(100).optional(),
    at: when,
  }),
});

export const AlertActionTaken = defineEvent({
  type: 'alert.action_taken',
  version: 1,
  description: 'A firing alert took its automated first response (pause the workflow, disable a source, or signal scale-up).',
  schema: z.object({
    alertId,
    rule: z.string().min(1).max(200),
    action: z.enum(ALERT_ACTIONS),
    workflowId: z.string().max(100).optional(),
    source: z.string().max(200).optional(),
    /** The command sent to the owning service (pause_workflow, disable_source). */
    command: z.object({ service: z.string(), name: z.string(), commandId: z.string() }).optional(),
    reason: z.string().max(1000),
    at: when,
  }),
});

const notification = {
  notificationId: z.string().min(1).max(300),
  dedupeKey: z.string().min(1).max(300),
  receiver: z.string().min(1).max(100),
  channel: z.enum(CHANNEL_TYPES),
  alertIds: z.array(alertId),
  groupKey: z.string().max(1000),
};

export const AlertNotificationAttempted = defineEvent({
  type: 'alert.notification_attempted',
  version: 1,
  description: 'One delivery attempt of a notification, with the receiver\'s status or the network error.',
  schema: z.object({
    ...notification,
    attempt: z.number().int().positive(),
    status: z.number().int().optional(),
    error: z.string().max(2000).optional(),
    outcome: z.enum(['delivered', 'retry', 'failed']),
    nextAttemptAt: when.optional(),
    at: when,
  }),
});

export const AlertNotificationDelivered = defineEvent({
  type: 'alert.notification_delivered',
  version: 1,
  description: 'A notification was accepted by its receiver.',
  schema: z.object({ ...notification, attempts: z.number().int().positive(), deliveredAt: when }),
});

export const AlertNotificationFailed = defineEvent({
  type: 'alert.notification_failed',
  version: 1,
  description: 'A notification was given up: the receiver refused it (4xx) or every retry failed.',
  schema: z.object({ ...notification, attempts: z.number().int().positive(), lastError: z.string().max(2000), failedAt: when }),
});

const matcher = z.object({ name: z.string().min(1).max(100), value: z.string().max(500), isRegex: z.boolean().optional(), isEqual: z.boolean().optional() });

export const SilenceCreated = defineEvent({
  type: 'alert.silence_created',
  version: 1,
  description: 'Notifications of alerts whose labels match are muted from startsAt to endsAt.',
  schema: z.object({
    silenceId: z.string().min(1).max(200),
    matchers: z.array(matcher).min(1),
    startsAt: when,
    endsAt: when,
    createdBy: z.string().min(1).max(200),
    comment: z.string().max(1000).optional(),
  }),
});

export const SilenceExpired = defineEvent({
  type: 'alert.silence_expired',
  version: 1,
  description: 'A silence ended (its end time passed or an operator expired it); it is kept for audit.',
  schema: z.object({
    silenceId: z.string().min(1).max(200),
    reason: z.enum(['ended', 'operator']),
    actor: z.string().max(200).optional(),
    expiredAt: when,
  }),
});

export const AlertRulesApplied = defineEvent({
  type: 'alert.rules_applied',
  version: 1,
  description: 'A declarative alert rule set (rules, receivers, routes, inhibitions, escalations) replaced the previous one.',
  schema: z.object({
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha-256 hex digest'),
    rules: z.array(z.string()),
    receivers: z.array(z.string()),
    inhibitions: z.number().int().nonnegative(),
    escalations: z.number().int().nonnegative(),
    spec: z.record(z.string(), z.unknown()),
    file: z.string().max(500).optional(),
    appliedBy: z.string().max(200).optional(),
    appliedAt: when,
  }),
});

export const alertEvents = [
  AlertPending,
  AlertFiring,
  AlertAcknowledged,
  AlertResolved,
  AlertEscalated,
  AlertActionTaken,
  AlertNotificationAttempted,
  AlertNotificationDelivered,
  AlertNotificationFailed,
  SilenceCreated,
  SilenceExpired,
  AlertRulesApplied,
];
