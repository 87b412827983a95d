import { createHmac } from 'node:crypto';
import { sha256Hex } from '../domain/fingerprint';
import type { NotificationMessage, NotifiedAlert } from './message.model';

// Pure renderings of one notification for each channel's published format.
// Every one carries, per alert: what broke (summary), since when, the last
// error, the owner, the runbook link and the exact `steward timeline` command.

/** Alertmanager's "no end yet" value for endsAt. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
export const PAGERDUTY_SUMMARY_MAX = 1024;

export function alertLines(a: NotifiedAlert): string[] {
  return [
    `${a.status === 'resolved' ? 'RESOLVED' : a.acknowledged ? 'ACKNOWLEDGED' : 'FIRING'} [${a.severity}] ${a.summary}`,
    `since: ${a.since}`,
    `owner: ${a.owner ?? 'unowned'}`,
    `last error: ${a.lastError ?? 'none recorded'}`,
    `runbook: ${a.runbookUrl ?? a.runbook ?? 'none'}`,
    `timeline: ${a.timeline}`,
    ...a.actions.map((x) => `automated action: ${x}`),
    `alert: ${a.alertId}`,
  ];
}

export function titleOf(m: NotificationMessage): string {
  const firing = m.alerts.filter((a) => a.status === 'firing').length;
  const what = m.alerts.length === 1 ? m.alerts[0]!.summary : `${m.alerts.length} alerts for ${Object.entries(m.groupLabels).map(([k, v]) => `${k}=${v}`).join(', ') || m.receiver}`;
  const escalation = m.escalation ? ` (escalation step ${m.escalation.step + 1})` : '';
  return `[${m.status === 'resolved' ? 'RESOLVED' : `FIRING:${firing}`}] ${what}${escalation}`;
}

export function plainText(m: NotificationMessage): string {
  return [titleOf(m), '', ...m.alerts.flatMap((a) => [...alertLines(a), ''])].join('\n').trimEnd();
}

function commonLabels(alerts: readonly NotifiedAlert[]): Record<string, string> {
  const [first, ...rest] = alerts;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first.labels).filter(([k, v]) => rest.every((a) => a.labels[k] === v)));
}

function annotations(a: NotifiedAlert): Record<string, string> {
  return {
    summary: a.summary,
    description: alertLines(a).join('\n'),
    since: a.since,
    owner: a.owner ?? '',
    last_error: a.lastError ?? '',
    runbook_url: a.runbookUrl ?? a.runbook ?? '',
    timeline: a.timeline,
  };
}

/** Alertmanager webhook payload, version 4 (prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export function alertmanagerWebhook(m: NotificationMessage) {
  return {
    version: '4',
    groupKey: m.groupKey,
    truncatedAlerts: 0,
    status: m.status,
    receiver: m.receiver,
    groupLabels: m.groupLabels,
    commonLabels: commonLabels(m.alerts),
    commonAnnotations: {},
    externalURL: m.externalUrl,
    alerts: m.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: annotations(a),
      startsAt: a.firedAt ?? a.since,
      endsAt: a.resolvedAt ?? ZERO_TIME,
      generatorURL: timelineUrl(m.externalUrl, a),
      fingerprint: a.fingerprint,
    })),
  };
}

/** `X-Steward-Signature: sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the receiver's secret. */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Slack incoming webhook: `text` is the fallback (notifications, old clients), `blocks` the layout. */
export function slackMessage(m: NotificationMessage) {
  const title = titleOf(m);
  return {
    text: `${title}\n${m.alerts.map((a) => `${a.summary} | runbook: ${a.runbookUrl ?? a.runbook ?? 'none'} | ${a.timeline}`).join('\n')}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: false } },
      ...m.alerts.flatMap((a) => [
        { type: 'section', text: { type: 'mrkdwn', text: `*${escapeSlack(a.summary)}*` } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: `*Since*\n${a.since}` },
            { type: 'mrkdwn', text: `*Owner*\n${escapeSlack(a.owner ?? 'unowned')}` },
            { type: 'mrkdwn', text: `*Severity*\n${a.severity}` },
            { type: 'mrkdwn', text: `*Runbook*\n${a.runbookUrl ? `<${a.runbookUrl}|${escapeSlack(a.runbook ?? a.runbookUrl)}>` : escapeSlack(a.runbook ?? 'none')}` },
          ],
        },
        { type: 'section', text: { type: 'mrkdwn', text: `*Last error*\n${escapeSlack(a.lastError ?? 'none recorded')}`.slice(0, 3000) } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `\`${a.timeline}\` · alert ${a.alertId}${a.actions.length ? ` · ${a.actions.join('; ')}` : ''}` }] },
      ]),
    ],
  };
}

const PD_SEVERITY = { page: 'critical', ticket: 'warning', info: 'info' } as const;

/** PagerDuty Events API v2 (developer.pagerduty.com/docs/events-api-v2/trigger-events). */
export function pagerDutyEvent(m: NotificationMessage, routingKey: string) {
  const dedupKey = sha256Hex(m.groupKey);
  if (m.incidentAction !== 'trigger') return { routing_key: routingKey, event_action: m.incidentAction, dedup_key: dedupKey };
  const lead = m.alerts.find((a) => a.status === 'firing') ?? m.alerts[0]!;
  const worst = m.alerts.some((a) => a.severity === 'page') ? 'page' : m.alerts.some((a) => a.severity === 'ticket') ? 'ticket' : 'info';
  return {
    routing_key: routingKey,
    event_action: 'trigger' as const,
    dedup_key: dedupKey,
    payload: {
      summary: truncate(titleOf(m), PAGERDUTY_SUMMARY_MAX),
      source: lead.workflowId ?? 'steward-alerter',
      severity: PD_SEVERITY[worst],
      timestamp: lead.firedAt ?? lead.since,
      component: lead.workflowId ?? undefined,
      group: lead.owner ?? undefined,
      class: lead.rule,
      custom_details: {
        alerts: m.alerts.map((a) => ({ alert: a.alertId, status: a.status, summary: a.summary, since: a.since, owner: a.owner, last_error: a.lastError, runbook: a.runbookUrl ?? a.runbook, timeline: a.timeline, actions: a.actions })),
      },
    },
    links: [
      ...(lead.runbookUrl ?? lead.runbook ? [{ href: (lead.runbookUrl ?? lead.runbook)!, text: `Runbook: ${lead.rule}` }] : []),
      { href: timelineUrl(m.externalUrl, lead), text: `Timeline: ${lead.timeline}` },
    ],
  };
}

export function emailMessage(m: NotificationMessage): { subject: string; text: string } {
  return { subject: titleOf(m).slice(0, 250), text: plainText(m) };
}

export function timelineUrl(externalUrl: string, a: NotifiedAlert): string {
  return `${externalUrl.replace(/\/$/, '')}/timeline?alert=${encodeURIComponent(a.alertId)}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
