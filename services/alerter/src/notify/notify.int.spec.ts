import { createHmac, createHash } from 'node:crypto';
import { migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { fireAlertTimer, startAlerter, TestClock, type AlerterHarness } from '../testing/alerter.harness';
import { HttpReceiver, SmtpReceiver } from '../testing/receivers.fixture';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SECRET = 's3cret-for-tests';

describe('alerter: notifications, grouping, silences, inhibition and escalation', () => {
  const env = useTestEnvironment({ label: 'alrtntf', setupDatabase: (url) => migrate(url) });
  const clock = new TestClock(new Date('2026-12-03T10:00:00Z'));
  const hook = new HttpReceiver();
  const slack = new HttpReceiver();
  const pd = new HttpReceiver();
  const flaky = new HttpReceiver();
  const smtp = new SmtpReceiver();
  let al: AlerterHarness;
  const overrides = () => ({ clock, secrets: { ALERTER_TEST_SECRET: SECRET, ALERTER_TEST_PD_KEY: 'R0UTINGKEY0000000000000000000000' }, env: { ALERTER_SMTP_URL: smtp.url, ALERTER_RUNBOOK_BASE_URL: 'https://git.example/steward/blob/main' } });

  const rules = () => `
receivers:
  - name: hook
    webhook: { url: "${hook.url}/alerts", secretEnv: ALERTER_TEST_SECRET }
  - name: slack
    slack: { url: "${slack.url}/services/T0/B0/x" }
  - name: pd
    pagerduty: { routingKeyEnv: ALERTER_TEST_PD_KEY, url: "${pd.url}/v2/enqueue" }
  - name: mail
    email: { to: [oncall@example.com] }
  - name: flaky
    webhook: { url: "${flaky.url}/hook" }
route:
  receiver: hook
  groupBy: [owner]
  groupWait: 30s
  groupInterval: 5m
  repeatInterval: 4h
  routes:
    - { match: { owner: slack-team }, receiver: slack }
    - { match: { owner: pd-team }, receiver: pd }
    - { match: { owner: mail-team }, receiver: mail }
    - { match: { owner: flaky-team }, receiver: flaky }
inhibitions:
  - sourceMatch: { alertname: consecutive_failures }
    targetMatch: { alertname: dead_letters }
    equal: [workflow]
escalations:
  - name: esc-pages
    owner: esc-team
    severity: page
    steps:
      - { after: 0s, receivers: [slack] }
      - { after: 15m, receivers: [pd] }
`;

  beforeAll(async () => {
    await Promise.all([hook.start(), slack.start(), pd.start(), flaky.start(), smtp.start()]);
    env.track({ end: () => Promise.all([hook.end(), slack.end(), pd.end(), flaky.end(), smtp.end()]) });
    al = await startAlerter(env, overrides());
    env.track({ end: () => al.close() });
    expect(await al.send('apply_alert_rules', { yaml: rules() })).toMatchObject({ status: 'completed' });
  });

  /** Three failed runs: the built-in consecutive_failures alert fires at once. */
  async function breakWorkflow(id: string, owner: string, error = 'portal answered 500'): Promise<string> {
    await al.applyWorkflow(id, { owner });
    for (let i = 0; i < 3; i++) await al.run(id, 'failed', { error });
    await al.settle();
    const [alert] = await al.alerts({ workflow: id, rule: 'consecutive_failures' });
    expect(alert?.state).toBe('firing');
    return alert!.alert_id;
  }

  async function heal(id: string): Promise<void> {
    await al.run(id, 'succeeded');
    await al.settle();
  }

  it('waits group_wait, then sends one signed Alertmanager v4 webhook per group, naming what broke and where to look', async () => {
    const alertId = await breakWorkflow('hooked', 'pricing-team');
    await al.ticker.dispatch();
    expect(hook.requests).toHaveLength(0);
    clock.advance(30 * SECOND);
    await al.ticker.dispatch();
    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    expect(req.path).toBe('/alerts');
    expect(req.headers['x-steward-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(req.body).digest('hex')}`);
    expect(req.headers['idempotency-key']).toMatch(/^hook:\{owner="pricing-team"\}#1$/);
    const body = req.json;
    expect(body).toMatchObject({
      version: '4',
      groupKey: 'hook:{owner="pricing-team"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'hook',
      groupLabels: { owner: 'pricing-team' },
      commonLabels: { alertname: 'consecutive_failures', workflow: 'hooked', owner: 'pricing-team', severity: 'page' },
      commonAnnotations: {},
      externalURL: 'http://127.0.0.1:8080',
    });
    expect(body.alerts).toHaveLength(1);
    const a = body.alerts[0];
    expect(a).toMatchObject({ status: 'firing', endsAt: '0001-01-01T00:00:00Z', generatorURL: `http://127.0.0.1:8080/timeline?alert=${alertId}` });
    expect(a.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(a.annotations).toMatchObject({
      summary: 'hooked failed 3 runs in a row (threshold 3)',
      owner: 'pricing-team',
      last_error: 'fetch: http_500: portal answered 500',
      runbook_url: 'https://git.example/steward/blob/main/docs/runbooks/consecutive-failures.md',
      timeline: 'steward timeline --workflow hooked --since 1h',
    });
    expect(Date.parse(a.startsAt)).not.toBeNaN();
    expect(Date.parse(a.annotations.since)).not.toBeNaN();
    expect((await al.alerts({ workflow: 'hooked' }))[0]!.notified).toBe(true);

    // A second alert of the same owner joins the group, but waits for group_interval after the last send.
    clock.advance(MINUTE);
    await breakWorkflow('hooked-too', 'pricing-team');
    await al.ticker.dispatch();
    expect(hook.requests).toHaveLength(1);
    clock.advance(4 * MINUTE);
    await al.ticker.dispatch();
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.json.alerts.map((x: any) => x.labels.workflow).sort()).toEqual(['hooked', 'hooked-too']);

    // Both resolve: one resolved notification after the next group interval, then silence.
    await heal('hooked');
    await heal('hooked-too');
    clock.advance(5 * MINUTE);
    await al.ticker.dispatch();
    expect(hook.requests).toHaveLength(3);
    expect(hook.requests[2]!.json).toMatchObject({ status: 'resolved' });
    expect(hook.requests[2]!.json.alerts.every((x: any) => x.status === 'resolved' && x.endsAt !== '0001-01-01T00:00:00Z')).toBe(true);
    clock.advance(5 * 60 * MINUTE);
    await al.ticker.dispatch();
    expect(hook.requests).toHaveLength(3);
  });

  it('retries a receiver that answers 500 and records exactly one effective delivery', async () => {
    flaky.answer(500);
    await breakWorkflow('flaky-wf', 'flaky-team');
    clock.advance(30 * SECOND);
    await al.ticker.dispatch();
    expect(flaky.requests.map((r) => r.status)).toEqual([500]);
    clock.advance(SECOND);
    await al.ticker.dispatch();
    clock.advance(10 * MINUTE);
    await al.ticker.dispatch();
    expect(flaky.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(flaky.accepted()).toHaveLength(1);
    expect(new Set(flaky.requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    const { rows } = await al.pool.query(`SELECT notification_id, status, attempts FROM alerter_notifications WHERE receiver = 'flaky'`);
    expect(rows).toEqual([{ notification_id: expect.any(String), status: 'delivered', attempts: 2 }]);
    const types = (await al.store.readStream(`alert-notification-${rows[0].notification_id}`)).map((e) => [e.type, (e.data as any).outcome]);
    expect(types).toEqual([
      ['alert.notification_attempted', 'retry'],
      ['alert.notification_attempted', 'delivered'],
      ['alert.notification_delivered', undefined],
    ]);
  });

  it('gives up at once on a 400 and raises channel_failing when a receiver keeps failing', async () => {
    flaky.answer(400, 400, 400);
    for (const id of ['bad-1', 'bad-2', 'bad-3']) {
      await breakWorkflow(id, 'flaky-team');
      clock.advance(6 * MINUTE);
      await al.ticker.dispatch();
    }
    expect(flaky.requests.slice(-3).map((r) => r.status)).toEqual([400, 400, 400]);
    const [channel] = await al.alerts({ rule: 'channel_failing' });
    expect(channel).toMatchObject({ state: 'firing', severity: 'page', labels: { receiver: 'flaky' } });
    expect(channel!.summary).toContain('HTTP 400');
  });

  it('posts Slack incoming-webhook messages with a text fallback and blocks', async () => {
    await breakWorkflow('slacked', 'slack-team');
    clock.advance(30 * SECOND);
    await al.ticker.dispatch();
    expect(slack.requests).toHaveLength(1);
    const msg = slack.requests[0]!.json;
    expect(Object.keys(msg).sort()).toEqual(['blocks', 'text']);
    expect(msg.text).toContain('[FIRING:1] slacked failed 3 runs in a row (threshold 3)');
    expect(msg.text).toContain('runbook: https://git.example/steward/blob/main/docs/runbooks/consecutive-failures.md');
    expect(msg.text).toContain('steward timeline --workflow slacked --since 1h');
    expect(msg.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '[FIRING:1] slacked failed 3 runs in a row (threshold 3)', emoji: false } });
    const fields = msg.blocks[2].fields.map((f: any) => f.text);
    expect(fields).toEqual(expect.arrayContaining([expect.stringMatching(/^\*Since\*\n\d{4}-/), '*Owner*\nslack-team', '*Severity*\npage', expect.stringContaining('<https://git.example/steward/blob/main/docs/runbooks/consecutive-failures.md|')]));
    expect(msg.blocks[3].text.text).toBe('*Last error*\nfetch: http_500: portal answered 500');
    expect(msg.blocks[4].elements[0].text).toContain('`steward timeline --workflow slacked --since 1h`');
  });

  it('sends PagerDuty Events v2 trigger, acknowledge and resolve with a stable dedup_key', async () => {
    const alertId = await breakWorkflow('paged', 'pd-team');
    clock.advance(30 * SECOND);
    await al.ticker.dispatch();
    expect(pd.requests).toHaveLength(1);
    const trigger = pd.requests[0]!;
    expect(trigger.path).toBe('/v2/enqueue');
    const dedup = createHash('sha256').update('pd:{owner="pd-team"}').digest('hex');
    expect(trigger.json).toMatchObject({
      routing_key: 'R0UTINGKEY0000000000000000000000',
      event_action: 'trigger',
      dedup_key: dedup,
      payload: { summary: '[FIRING:1] paged failed 3 runs in a row (threshold 3)', source: 'paged', severity: 'critical', component: 'paged', group: 'pd-team', class: 'consecutive_failures' },
    });
    expect(trigger.json.payload.summary.length).toBeLessThanOrEqual(1024);
    expect(Date.parse(trigger.json.payload.timestamp)).not.toBeNaN();
    expect(trigger.json.links).toEqual([
      { href: 'https://git.example/steward/blob/main/docs/runbooks/consecutive-failures.md', text: 'Runbook: consecutive_failures' },
      { href: `http://127.0.0.1:8080/timeline?alert=${alertId}`, text: 'Timeline: steward timeline --workflow paged --since 1h' },
    ]);

    expect(await al.send('acknowledge_alert', { alertId, reason: 'looking' }, 'ana')).toMatchObject({ status: 'completed', events: [{ type: 'alert.acknowledged', data: { actor: 'ana' } }] });
    clock.advance(5 * MINUTE);
    await al.ticker.dispatch();
    expect(pd.requests[1]!.json).toEqual({ routing_key: 'R0UTINGKEY0000000000000000000000', event_action: 'acknowledge', dedup_key: dedup });

    await heal('paged');
    clock.advance(5 * MINUTE);
    await al.ticker.dispatch();
    expect(pd.requests[2]!.json).toEqual({ routing_key: 'R0UTINGKEY0000000000000000000000', event_action: 'resolve', dedup_key: dedup });
  });

  it('emails over SMTP with the runbook and the timeline command', async () => {
    await breakWorkflow('mailed', 'mail-team');
    clock.advance(30 * SECOND);
    await al.ticker.dispatch();
    await eventually(async () => expect(smtp.mails).toHaveLength(1));
    const mail = smtp.mails[0]!;
    expect(mail.to).toEqual(['oncall@example.com']);
    expect(mail.raw).toContain('Subject: [FIRING:1] mailed failed 3 runs in a row (threshold 3)');
    expect(mail.decoded).toContain('runbook: https://git.example/steward/blob/main/docs/runbooks/consecutive-failures.md');
    expect(mail.decoded).toContain('timeline: steward timeline --workflow mailed --since 1h');
    expect(mail.decoded).toContain('owner: mail-team');
    expect(mail.decoded).toContain('last error: fetch: http_500: portal answered 500');
  });

  it('mutes alerts a silence matches, keeps the silence after it expires, and notifies once it is gone', async () => {
    const created = await al.send('create_silence', { matchers: [{ name: 'workflow', value: 'hushed' }], durationSeconds: 3600, comment: 'maintenance' }, 'ana');
    expect(created).toMatchObject({ status: 'completed', events: [{ type: 'alert.silence_created', data: { createdBy: 'ana', comment: 'maintenance' } }] });
    const silenceId = (created as any).events[0].data.silenceId as string;
    const before = hook.requests.length;
    await breakWorkflow('hushed', 'quiet-team');
    clock.advance(30 * SECOND);
    await al.ticker.dispatch();
    expect(hook.requests.length).toBe(before);

    expect(await al.send('expire_silence', { silenceId })).toMatchObject({ status: 'completed', events: [{ type: 'alert.silence_expired', data: { reason: 'operator' } }] });
    await al.ticker.dispatch();
    expect(hook.requests.length).toBe(before + 1);
    expect(hook.requests.at(-1)!.json.alerts[0].labels.workflow).toBe('hushed');
    const { rows } = await al.pool.query(`SELECT silence_id, expired_by FROM alerter_silences WHERE silence_id = $1`, [silenceId]);
    expect(rows).toEqual([{ silence_id: silenceId, expired_by: 'ana' }]);
    expect(await al.send('expire_silence', { silenceId })).toMatchObject({ status: 'rejected', code: 'illegal_state' });
  });

  it('inhibits a dead-letter alert while the same workflow\'s failure alert fires', async () => {
    await al.applyWorkflow('inhibited', { owner: 'inhibit-team' });
    const runId = await al.run('inhibited', 'failed');
    await al.run('inhibited', 'failed');
    const when = clock.now().toISOString();
    await al.emit(`run-${runId}`, 'step.dead_lettered', {
      runId, workflowId: 'inhibited', stepId: 'fetch', version: 1, reason: 'budget_exhausted',
      attempts: [{ attempt: 1, error: { code: 'x', message: 'y', retryable: true }, failedAt: when }], firstFailureAt: when, lastFailureAt: when, deadLetteredAt: when,
    });
    await al.run('inhibited', 'failed');
    await al.settle();
    expect((await al.alerts({ workflow: 'inhibited' })).map((a) => [a.rule, a.state]).sort()).toEqual([['consecutive_failures', 'firing'], ['dead_letters', 'firing']]);
    clock.advance(30 * SECOND);
    await al.ticker.dispatch();
    const sent = hook.requests.at(-1)!.json;
    expect(sent.groupLabels).toEqual({ owner: 'inhibit-team' });
    expect(sent.alerts.map((a: any) => a.labels.alertname)).toEqual(['consecutive_failures']);
  });

  describe('escalation', () => {
    it('runs its first step at once, moves to the next step when nobody acknowledges, and records every step', async () => {
      const alertId = await breakWorkflow('escalating', 'esc-team');
      const events = await al.alertEvents(alertId);
      expect(events.map((e) => e.type)).toEqual(['alert.pending', 'alert.firing', 'alert.escalated', 'timer.requested']);
      expect(events[2]!.data).toMatchObject({ policy: 'esc-pages', step: 0, loop: 0, receivers: ['slack'] });
      expect(events[3]!.data).toMatchObject({ owner: 'alerter', dueAt: new Date(clock.now().getTime() + 15 * MINUTE).toISOString(), payload: { kind: 'escalation', step: 1 } });
      await al.ticker.dispatch();
      expect(slack.requests.at(-1)!.json.text).toContain('(escalation step 1)');
      const pdBefore = pd.requests.length;
      clock.advance(15 * MINUTE);
      const fired = await fireAlertTimer(al, alertId, (t) => t.payload.step === 1);
      await eventually(async () => expect((await al.alertEvents(alertId)).map((e) => e.type)).toContain('alert.escalated'), 10_000);
      await eventually(async () => {
        const { rows } = await al.pool.query(`SELECT 1 FROM inbox WHERE consumer = 'alerter' AND message_id = $1`, [fired]);
        expect(rows).toHaveLength(1);
      });
      const steps = (await al.alertEvents(alertId)).filter((e) => e.type === 'alert.escalated').map((e) => (e.data as any).step);
      expect(steps).toEqual([0, 1]);
      await al.ticker.dispatch();
      expect(pd.requests.length).toBe(pdBefore + 1);
      expect(pd.requests.at(-1)!.json.payload.summary).toContain('(escalation step 2)');
    });

    it('stops when the alert is acknowledged', async () => {
      const alertId = await breakWorkflow('acked', 'esc-team');
      expect(await al.send('acknowledge_alert', { alertId })).toMatchObject({ status: 'completed' });
      clock.advance(15 * MINUTE);
      const fired = await fireAlertTimer(al, alertId, (t) => t.payload.step === 1);
      await eventually(async () => {
        const { rows } = await al.pool.query(`SELECT 1 FROM inbox WHERE consumer = 'alerter' AND message_id = $1`, [fired]);
        expect(rows).toHaveLength(1);
      });
      const steps = (await al.alertEvents(alertId)).filter((e) => e.type === 'alert.escalated').map((e) => (e.data as any).step);
      expect(steps).toEqual([0]);
    });

    it('keeps its timers across an alerter restart', async () => {
      const alertId = await breakWorkflow('restarted', 'esc-team');
      await al.close();
      al = await startAlerter(env, overrides());
      clock.advance(15 * MINUTE);
      await fireAlertTimer(al, alertId, (t) => t.payload.step === 1);
      await eventually(async () => {
        const steps = (await al.alertEvents(alertId)).filter((e) => e.type === 'alert.escalated').map((e) => (e.data as any).step);
        expect(steps).toEqual([0, 1]);
      }, 10_000);
    });
  });
});
