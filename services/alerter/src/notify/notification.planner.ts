import type { Queryable } from '@steward/event-store';
import type { Labels } from '../domain/fingerprint';
import { flushAfterChange, flushAfterFlush, groupKeyOf, type GroupTimings } from '../domain/grouping';
import { isInhibited, isSilenced, matchesAll } from '../domain/matchers';
import type { AlertRow } from '../alerts/alert.model';
import type { AlertRepository } from '../projection/alert.repository';
import type { SilenceRepository } from '../projection/silence.repository';
import type { Receiver, RuleFile } from '../rules/rules.schema';
import type { NotificationMessage, NotifiedAlert } from './message.model';
import { notificationIdOf, notifiedAlert } from './message.builder';

export interface PlannerSettings {
  runbookBaseUrl: string;
  externalUrl: string;
}

const channelOf = (r: Receiver): NotificationMessage['channel'] => (r.webhook ? 'webhook' : r.slack ? 'slack' : r.pagerduty ? 'pagerduty' : 'email');

/**
 * Decides what to notify, never sends: routes an alert to its receiver and
 * group, flushes due groups into outbox rows (alerter_notifications), and
 * queues escalation notifications. The delivery service sends the rows.
 */
export class NotificationPlanner {
  constructor(
    private readonly alerts: AlertRepository,
    private readonly silences: SilenceRepository,
    private readonly settings: PlannerSettings,
  ) {}

  /** An alert fired, was acknowledged or resolved: its group must say so, at the group's next allowed time. */
  async changed(tx: Queryable, a: AlertRow, rules: RuleFile, now: Date): Promise<void> {
    const route = rules.route;
    if (route === undefined) return;
    const receiver = route.routes.find((r) => matchesAll(r.match, a.labels))?.receiver ?? route.receiver;
    const groupKey = groupKeyOf(receiver, route.groupBy, a.labels);
    const groupLabels = Object.fromEntries((route.groupBy.includes('...') ? Object.keys(a.labels) : route.groupBy).map((n) => [n, a.labels[n] ?? '']));
    const { rows } = await tx.query<{ next_flush_at: Date | null; last_flushed_at: Date | null }>(`SELECT next_flush_at, last_flushed_at FROM alerter_groups WHERE group_key = $1 FOR UPDATE`, [groupKey]);
    const existing = rows[0] && { nextFlushAt: rows[0].next_flush_at, lastFlushedAt: rows[0].last_flushed_at };
    const next = flushAfterChange(existing, now, timingsOf(rules));
    await tx.query(
      `INSERT INTO alerter_groups (group_key, receiver, labels, next_flush_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (group_key) DO UPDATE SET next_flush_at = EXCLUDED.next_flush_at`,
      [groupKey, receiver, JSON.stringify(groupLabels), next],
    );
    await tx.query(`INSERT INTO alerter_group_members (group_key, alert_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [groupKey, a.alertId]);
  }

  /** Flushes one due group (locked, skipping those another replica holds); false when none is due. */
  async flushOne(tx: Queryable, rules: RuleFile, now: Date): Promise<boolean> {
    const { rows } = await tx.query<{ group_key: string; receiver: string; labels: Labels; last_flushed_at: Date | null; flushes: number; notified_alerts: Record<string, string> }>(
      `SELECT group_key, receiver, labels, last_flushed_at, flushes, notified_alerts FROM alerter_groups WHERE next_flush_at <= $1 ORDER BY next_flush_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [now],
    );
    const g = rows[0];
    if (g === undefined) return false;
    const members = await tx.query<{ alert_id: string }>(`SELECT alert_id FROM alerter_group_members WHERE group_key = $1`, [g.group_key]);
    const alerts = await this.alerts.findByIds(tx, members.rows.map((m) => m.alert_id));
    const silences = (await this.silences.findUnexpired(tx)).map((s) => ({ matchers: s.matchers, startsAt: s.startsAt, endsAt: s.endsAt }));
    const firingEverywhere = (await this.alerts.findFiring(tx)).filter((f) => !isSilenced(f.labels, silences, now));
    const muted = (a: AlertRow) => isSilenced(a.labels, silences, now) || isInhibited(a, firingEverywhere, rules.inhibitions);
    const firing = alerts.filter((a) => (a.state === 'firing' || a.state === 'acknowledged') && !muted(a));
    const resolved = alerts.filter((a) => a.state === 'resolved' && g.notified_alerts[a.alertId] !== undefined);
    const digest = Object.fromEntries(firing.map((a) => [a.alertId, a.state]));
    const timings = timingsOf(rules);
    const unchanged = resolved.length === 0 && sameKeys(digest, g.notified_alerts);
    const repeatDue = g.last_flushed_at === null || now.getTime() - g.last_flushed_at.getTime() >= timings.repeatIntervalMs;
    const receiver = rules.receivers.find((r) => r.name === g.receiver);
    const send = receiver !== undefined && (firing.length > 0 || resolved.length > 0) && (!unchanged || (firing.length > 0 && repeatDue));
    if (send) {
      const flush = g.flushes + 1;
      const notified = [...firing, ...resolved].map((a) => notifiedAlert(a, now, this.settings.runbookBaseUrl));
      await this.enqueue(tx, receiver, `${g.group_key}#${flush}`, g.group_key, g.labels, notified, 'group', now);
      await this.alerts.markNotified(tx, firing.map((a) => a.alertId));
    }
    const stillFiring = alerts.some((a) => a.state === 'firing' || a.state === 'acknowledged');
    await tx.query(
      `UPDATE alerter_groups SET next_flush_at = $2, last_flushed_at = CASE WHEN $3 THEN $4 ELSE last_flushed_at END,
         flushes = flushes + CASE WHEN $3 THEN 1 ELSE 0 END, notified_alerts = CASE WHEN $3 THEN $5::jsonb ELSE notified_alerts END WHERE group_key = $1`,
      [g.group_key, flushAfterFlush(now, stillFiring, timings), send, now, JSON.stringify(digest)],
    );
    // Resolved alerts have been told (or never were and never will be): they leave the group.
    await tx.query(`DELETE FROM alerter_group_members m USING alerter_alerts a WHERE m.group_key = $1 AND a.alert_id = m.alert_id AND a.state = 'resolved'`, [g.group_key]);
    return true;
  }

  /** An escalation step: each of its receivers is told about this one alert, now, outside any group. */
  async escalate(tx: Queryable, a: AlertRow, rules: RuleFile, receivers: readonly string[], step: { policy: string; step: number; loop: number }, now: Date): Promise<void> {
    for (const name of receivers) {
      const receiver = rules.receivers.find((r) => r.name === name);
      if (receiver === undefined) continue;
      const groupKey = `escalation:${a.alertId}`;
      const notified = [notifiedAlert(a, now, this.settings.runbookBaseUrl)];
      await this.enqueue(tx, receiver, `${groupKey}/${step.loop}/${step.step}/${name}`, groupKey, { alertname: a.rule }, notified, 'escalation', now, step);
    }
    await this.alerts.markNotified(tx, [a.alertId]);
  }

  private async enqueue(tx: Queryable, receiver: Receiver, dedupeKey: string, groupKey: string, groupLabels: Labels, alerts: NotifiedAlert[], kind: 'group' | 'escalation', now: Date, escalation?: NotificationMessage['escalation']): Promise<void> {
    const actions = await tx.query<{ alert_id: string; reason: string; action: string }>(
      `SELECT metadata->>'correlationId' AS alert_id, data->>'action' AS action, data->>'reason' AS reason FROM events
       WHERE type = 'alert.action_taken' AND stream_id = ANY($1::text[])`,
      [alerts.map((a) => `alert-${a.alertId}`)],
    );
    for (const a of alerts) a.actions = actions.rows.filter((r) => r.alert_id === a.alertId).map((r) => `${r.action}: ${r.reason}`);
    const firing = alerts.filter((a) => a.status === 'firing');
    const message: NotificationMessage = {
      kind,
      receiver: receiver.name,
      channel: channelOf(receiver),
      groupKey,
      groupLabels,
      status: firing.length > 0 ? 'firing' : 'resolved',
      incidentAction: firing.length === 0 ? 'resolve' : firing.every((a) => a.acknowledged) ? 'acknowledge' : 'trigger',
      alerts,
      ...(escalation !== undefined && { escalation }),
      externalUrl: this.settings.externalUrl,
    };
    await tx.query(
      `INSERT INTO alerter_notifications (notification_id, dedupe_key, receiver, channel, group_key, alert_ids, message, status, next_attempt_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8, $8) ON CONFLICT (notification_id) DO NOTHING`,
      [notificationIdOf(dedupeKey), dedupeKey, receiver.name, message.channel, groupKey, alerts.map((a) => a.alertId), JSON.stringify(message), now],
    );
  }
}

export function timingsOf(rules: RuleFile): GroupTimings {
  const r = rules.route;
  return { groupWaitMs: r?.groupWait ?? 30_000, groupIntervalMs: r?.groupInterval ?? 300_000, repeatIntervalMs: r?.repeatInterval ?? 4 * 3_600_000 };
}

function sameKeys(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
