import { z } from 'zod';
import { PageQuery } from '../http/api.schemas';

// Request and response shapes of the alert routes (the alerter's read model
// and commands), kept apart from operator.schemas.ts, which others edit.

export const ALERT_STATES = ['pending', 'firing', 'acknowledged', 'resolved'] as const;

export const AlertListQuery = PageQuery.extend({
  state: z.enum(ALERT_STATES).optional().meta({ description: 'only alerts in this state' }),
  workflow: z.string().min(1).max(100).optional().meta({ description: 'only alerts of this workflow' }),
});

export const SilenceListQuery = PageQuery.extend({
  state: z.enum(['active', 'expired', 'all']).optional().meta({ description: 'active (default: not expired yet, including future ones), expired, or all' }),
});

export const AlertItemSchema = z.object({
  id: z.string(),
  state: z.enum(ALERT_STATES),
  rule: z.string(),
  severity: z.string(),
  workflow: z.string().optional(),
  owner: z.string().optional(),
  summary: z.string().optional(),
  runbook: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  fingerprint: z.string(),
  impactStartedAt: z.string().optional(),
  startsAt: z.string(),
  firedAt: z.string().optional(),
  acknowledgedAt: z.string().optional(),
  acknowledgedBy: z.string().optional(),
  resolvedAt: z.string().optional(),
  notified: z.boolean(),
  lastError: z.string().optional(),
  timeline: z.string(),
});

export const AlertListSchema = z.object({ items: z.array(AlertItemSchema), next: z.string().optional() });

export const SilenceItemSchema = z.object({
  id: z.string(),
  state: z.enum(['pending', 'active', 'expired']),
  matchers: z.array(z.object({ name: z.string(), value: z.string(), isRegex: z.boolean().optional(), isEqual: z.boolean().optional() })),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string().optional(),
  expiredAt: z.string().optional(),
  expiredBy: z.string().optional(),
});

export const SilenceListSchema = z.object({ items: z.array(SilenceItemSchema), next: z.string().optional() });

export const AlertRuleListSchema = z.object({
  items: z.array(z.looseObject({ name: z.string(), signal: z.string(), severity: z.string() })),
  hash: z.string().optional(),
  file: z.string().optional(),
  appliedBy: z.string().optional(),
  appliedAt: z.string().optional(),
  receivers: z.array(z.object({ name: z.string(), channel: z.string() })),
  inhibitions: z.number(),
  escalations: z.number(),
});
