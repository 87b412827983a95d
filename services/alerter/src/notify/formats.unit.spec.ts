import { createHmac } from 'node:crypto';
import { alertmanagerWebhook, pagerDutyEvent, PAGERDUTY_SUMMARY_MAX, signature } from './formats';
import type { NotificationMessage, NotifiedAlert } from './message.model';

const alert = (overrides: Partial<NotifiedAlert> = {}): NotifiedAlert => ({
  alertId: 'al-1',
  fingerprint: 'f'.repeat(64),
  status: 'firing',
  acknowledged: false,
  rule: 'consecutive_failures',
  severity: 'page',
  labels: { alertname: 'consecutive_failures', workflow: 'w' },
  summary: 'w failed 3 runs in a row',
  owner: 'team',
  workflowId: 'w',
  runbook: 'docs/runbooks/w.md',
  runbookUrl: null,
  since: '2026-12-03T10:00:00.000Z',
  firedAt: '2026-12-03T10:00:00.000Z',
  resolvedAt: null,
  lastError: 'boom',
  timeline: 'steward timeline --workflow w --since 1h',
  actions: [],
  ...overrides,
});

const message = (alerts: NotifiedAlert[], overrides: Partial<NotificationMessage> = {}): NotificationMessage => ({
  kind: 'group',
  receiver: 'r',
  channel: 'webhook',
  groupKey: 'r:{workflow="w"}',
  groupLabels: { workflow: 'w' },
  status: 'firing',
  incidentAction: 'trigger',
  alerts,
  externalUrl: 'http://gw',
  ...overrides,
});

describe('channel formats', () => {
  it('signs the exact body with HMAC-SHA256', () => {
    expect(signature('{"a":1}', 'k')).toBe(`sha256=${createHmac('sha256', 'k').update('{"a":1}').digest('hex')}`);
  });

  it('puts only labels every alert shares into commonLabels', () => {
    const body = alertmanagerWebhook(message([alert(), alert({ alertId: 'al-2', labels: { alertname: 'consecutive_failures', workflow: 'x' } })]));
    expect(body.commonLabels).toEqual({ alertname: 'consecutive_failures' });
    expect(body.alerts[1]!.annotations.runbook_url).toBe('docs/runbooks/w.md');
  });

  it('truncates the PagerDuty summary to 1024 characters', () => {
    const long = alert({ summary: 'x'.repeat(3000) });
    const event = pagerDutyEvent(message([long]), 'key') as { payload: { summary: string } };
    expect(event.payload.summary).toHaveLength(PAGERDUTY_SUMMARY_MAX);
    expect(event.payload.summary.endsWith('…')).toBe(true);
  });

  it('sends only routing key, action and dedup key to acknowledge or resolve', () => {
    expect(Object.keys(pagerDutyEvent(message([alert()], { incidentAction: 'resolve' }), 'key')).sort()).toEqual(['dedup_key', 'event_action', 'routing_key']);
  });
});
