import { migrate } from '@steward/event-store';
import { eventually, startRebuildReplay, useTestEnvironment } from '@steward/testing';
import { SIGNAL_EVENTS } from './signal.projector';
import { startAlerter, TestClock, type AlerterHarness } from '../testing/alerter.harness';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const RULES = `
rules:
  - name: breaker
    signal: consecutive_failures
    workflows: [breaker]
    threshold: 3
    severity: page
    summary: "{{workflow}} failed {{value}} runs in a row"
    action: { type: pause_workflow }
  - name: sticky
    signal: consecutive_failures
    workflows: [sticky]
    threshold: 2
    keepFiringFor: 5m
  - name: source-off
    signal: dead_letters
    workflows: [scraper]
    action: { type: disable_source, source: supplier-portal }
  - name: more-workers
    signal: consecutive_failures
    workflows: [scaler]
    threshold: 1
    action: { type: scale_up, service: executor }
`;

describe('alerter: built-in signals fire and resolve exactly once', () => {
  const env = useTestEnvironment({ label: 'alrtsig', setupDatabase: (url) => migrate(url) });
  const clock = new TestClock(new Date('2026-12-03T10:00:00Z'));
  let al: AlerterHarness;

  beforeAll(async () => {
    al = await startAlerter(env, { clock, env: { ALERTER_BASELINE_MIN_SAMPLES: '5', ALERTER_BURN_MIN_VOLUME: '10', REBUILD_POLL_MS: '100' } });
    env.track({ end: () => al.close() });
    expect(await al.send('apply_alert_rules', { yaml: RULES, file: 'rules.yaml' })).toMatchObject({ status: 'completed', events: [{ type: 'alert.rules_applied' }] });
  });

  const lifecycle = async (alertId: string) => (await al.alertEvents(alertId)).map((e) => e.type).filter((t) => t.startsWith('alert.'));

  it('opens a consecutive-failure alert at the threshold, pauses the workflow, and resolves on the next success', async () => {
    await al.applyWorkflow('breaker', { owner: 'pricing-team', runbook: 'docs/runbooks/breaker.md' });
    const paused = env.nats.nc.subscribe(env.nats.subjects.command('scheduler', 'pause_workflow'), { max: 1 });
    await al.run('breaker', 'failed', { error: 'portal answered 500' });
    await al.run('breaker', 'failed');
    await al.settle();
    expect(await al.alerts({ workflow: 'breaker' })).toEqual([]);
    await al.run('breaker', 'failed', { error: 'portal answered 503' });
    await al.settle();
    const [alert] = await al.alerts({ workflow: 'breaker' });
    expect(alert).toMatchObject({ rule: 'breaker', severity: 'page', state: 'firing', owner: 'pricing-team', summary: 'breaker failed 3 runs in a row', runbook: 'docs/runbooks/breaker.md' });
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.action_taken']);
    // The action is caused by the alert: the firing event, in the alert's correlation.
    const [, firing, action] = await al.alertEvents(alert!.alert_id);
    expect(action!.metadata).toMatchObject({ causationId: firing!.eventId, correlationId: alert!.alert_id, workflowId: 'breaker' });

    await al.ticker.dispatch();
    for await (const msg of paused) {
      const command = msg.json<{ name: string; payload: { workflowId: string; reason: string }; correlationId: string }>();
      expect(command).toMatchObject({ name: 'pause_workflow', correlationId: alert!.alert_id, payload: { workflowId: 'breaker' } });
      expect(command.payload.reason).toContain(alert!.alert_id);
    }

    // A fourth failure changes nothing: still the same alert.
    await al.run('breaker', 'failed');
    await al.run('breaker', 'succeeded');
    await al.settle();
    expect((await al.alerts({ workflow: 'breaker' })).map((a) => a.state)).toEqual(['resolved']);
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.action_taken', 'alert.resolved']);
  });

  it('keeps firing for keepFiringFor after the condition clears, then resolves', async () => {
    await al.applyWorkflow('sticky');
    await al.run('sticky', 'failed');
    await al.run('sticky', 'failed');
    await al.settle();
    await al.run('sticky', 'succeeded');
    await al.settle();
    expect((await al.alerts({ workflow: 'sticky' })).map((a) => [a.rule, a.state])).toEqual([['sticky', 'firing']]);
    clock.advance(4 * MINUTE);
    await al.ticker.evaluate();
    expect((await al.alerts({ workflow: 'sticky' })).map((a) => a.state)).toEqual(['firing']);
    clock.advance(MINUTE);
    await al.ticker.evaluate();
    expect((await al.alerts({ workflow: 'sticky' })).map((a) => a.state)).toEqual(['resolved']);
  });

  it('takes disable_source and scale_up actions as events caused by the alert', async () => {
    const disabled = env.nats.nc.subscribe(env.nats.subjects.command('collector', 'disable_source'), { max: 1 });
    await al.applyWorkflow('scraper');
    const runId = await al.run('scraper', 'failed');
    const when = clock.now().toISOString();
    await al.emit(`run-${runId}`, 'step.dead_lettered', {
      runId, workflowId: 'scraper', stepId: 'fetch', version: 1, reason: 'non_retryable',
      attempts: [{ attempt: 1, error: { code: 'http_403', message: 'blocked', retryable: false }, failedAt: when }], firstFailureAt: when, lastFailureAt: when, deadLetteredAt: when,
    });
    await al.applyWorkflow('scaler');
    await al.run('scaler', 'failed');
    await al.settle();
    const [off] = await al.alerts({ workflow: 'scraper', rule: 'source-off' });
    const offAction = (await al.alertEvents(off!.alert_id)).find((e) => e.type === 'alert.action_taken')!;
    expect(offAction.data).toMatchObject({ action: 'disable_source', source: 'supplier-portal', command: { service: 'collector', name: 'disable_source' } });
    expect(offAction.metadata).toMatchObject({ correlationId: off!.alert_id });
    await al.ticker.dispatch();
    for await (const msg of disabled) expect(msg.json()).toMatchObject({ name: 'disable_source', payload: { source: 'supplier-portal' }, correlationId: off!.alert_id });
    const [scale] = await al.alerts({ workflow: 'scaler', rule: 'more-workers' });
    const scaleAction = (await al.alertEvents(scale!.alert_id)).find((e) => e.type === 'alert.action_taken')!;
    expect(scaleAction.data).toMatchObject({ action: 'scale_up', workflowId: 'scaler' });
    expect((scaleAction.data as { reason: string }).reason).toMatch(/^scale up executor: alert al-/);
    expect((scaleAction.data as { command?: unknown }).command).toBeUndefined();
  });

  it('raises dead letters and clears them when the step is requeued', async () => {
    await al.applyWorkflow('dlq-wf');
    const runId = await al.run('dlq-wf', 'failed');
    const when = clock.now().toISOString();
    await al.emit(`run-${runId}`, 'step.dead_lettered', {
      runId,
      workflowId: 'dlq-wf',
      stepId: 'fetch',
      version: 1,
      reason: 'budget_exhausted',
      attempts: [{ attempt: 1, error: { code: 'http_500', message: 'boom', retryable: true }, failedAt: when }],
      firstFailureAt: when,
      lastFailureAt: when,
      deadLetteredAt: when,
    });
    await al.settle();
    const [alert] = await al.alerts({ workflow: 'dlq-wf', rule: 'dead_letters' });
    expect(alert).toMatchObject({ state: 'firing', runbook: 'docs/runbooks/dead-letters.md', summary: 'dlq-wf has 1 open dead letter' });
    await al.emit(`run-${runId}`, 'step.requeued', { runId, workflowId: 'dlq-wf', stepId: 'fetch', actor: 'ana', requeuedAt: when });
    await al.settle();
    expect((await al.alerts({ workflow: 'dlq-wf', rule: 'dead_letters' })).map((a) => a.state)).toEqual(['resolved']);
  });

  it('raises heartbeat_missed when a long task stops heartbeating and clears it when its run ends', async () => {
    await al.applyWorkflow('longtask');
    const runId = `r-long-1`;
    await al.emit(`run-${runId}`, 'step.timed_out', { runId, workflowId: 'longtask', stepId: 'crunch', attempt: 1, timeout: 'start_to_close', timedOutAt: clock.now().toISOString() });
    await al.settle();
    expect(await al.alerts({ workflow: 'longtask' })).toEqual([]);
    await al.emit(`run-${runId}`, 'step.timed_out', { runId, workflowId: 'longtask', stepId: 'crunch', attempt: 2, timeout: 'heartbeat', timedOutAt: clock.now().toISOString() });
    await al.settle();
    const [alert] = await al.alerts({ workflow: 'longtask', rule: 'heartbeat_missed' });
    expect(alert).toMatchObject({ state: 'firing', severity: 'ticket', runbook: 'docs/runbooks/heartbeat-missed.md' });
    await al.emit(`run-${runId}`, 'run.succeeded', { runId, workflowId: 'longtask', succeededAt: clock.now().toISOString(), durationMs: 5000 });
    await al.settle();
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
  });

  describe('duration against the baseline', () => {
    it('stays quiet below the minimum sample count, however slow the run', async () => {
      await al.applyWorkflow('young');
      for (let i = 0; i < 3; i++) await al.run('young', 'succeeded', { durationMs: 1000 });
      await al.run('young', 'succeeded', { durationMs: 5000 });
      await al.settle();
      expect(await al.alerts({ workflow: 'young', rule: 'duration_baseline' })).toEqual([]);
    });

    it('goes pending on a run more than 20% off the baseline, fires after its for period, resolves when runs are normal again', async () => {
      await al.applyWorkflow('slow');
      for (let i = 0; i < 6; i++) await al.run('slow', 'succeeded', { durationMs: 1000 + i, agoMs: (10 - i) * MINUTE });
      await al.run('slow', 'succeeded', { durationMs: 1190 });
      await al.settle();
      expect(await al.alerts({ workflow: 'slow', rule: 'duration_baseline' })).toEqual([]);
      await al.run('slow', 'succeeded', { durationMs: 1300 });
      await al.settle();
      expect((await al.alerts({ workflow: 'slow', rule: 'duration_baseline' })).map((a) => a.state)).toEqual(['pending']);
      clock.advance(10 * MINUTE);
      await al.ticker.evaluate();
      const [alert] = await al.alerts({ workflow: 'slow', rule: 'duration_baseline' });
      expect(alert).toMatchObject({ state: 'firing', severity: 'ticket' });
      expect(alert!.summary).toMatch(/took 1s300ms, 29.61% slower than its baseline 1s3ms$/);
      await al.run('slow', 'succeeded', { durationMs: 1001 });
      await al.settle();
      expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
    });

    it('lets a slow run that clears within the for period go without firing', async () => {
      await al.applyWorkflow('blip');
      for (let i = 0; i < 6; i++) await al.run('blip', 'succeeded', { durationMs: 2000 });
      await al.run('blip', 'succeeded', { durationMs: 9000 });
      await al.settle();
      await al.run('blip', 'succeeded', { durationMs: 2000 });
      await al.settle();
      const [alert] = await al.alerts({ workflow: 'blip', rule: 'duration_baseline' });
      expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.resolved']);
      expect((await al.alertEvents(alert!.alert_id)).at(-1)!.data).toMatchObject({ reason: 'cleared_before_firing' });
    });
  });

  it('fires when data is older than the freshness SLO and resolves on a fresh run', async () => {
    await al.applyWorkflow('fresh', { slo: { freshnessMs: HOUR } });
    await al.run('fresh', 'succeeded');
    await al.settle();
    clock.advance(30 * MINUTE);
    await al.ticker.evaluate();
    expect(await al.alerts({ workflow: 'fresh', rule: 'data_freshness' })).toEqual([]);
    clock.advance(31 * MINUTE);
    await al.ticker.evaluate();
    await al.ticker.evaluate();
    const [alert] = await al.alerts({ workflow: 'fresh', rule: 'data_freshness' });
    expect(alert).toMatchObject({ state: 'firing', severity: 'page', runbook: 'docs/runbooks/data-freshness.md' });
    await al.run('fresh', 'succeeded');
    await al.settle();
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
  });

  it('pages on a fast error-budget burn and suppresses the ticket tier while it fires', async () => {
    await al.applyWorkflow('burny', { slo: { successRate: 0.99 } });
    for (let i = 0; i < 20; i++) await al.run('burny', i % 2 === 0 ? 'failed' : 'succeeded', { agoMs: (i % 4) * MINUTE });
    await al.settle();
    const page = await al.alerts({ workflow: 'burny', rule: 'slo_burn_rate_page' });
    expect(page.map((a) => [a.state, a.severity])).toEqual([['firing', 'page']]);
    expect(page[0]!.summary).toContain('burns its 99% success SLO 50x too fast');
    expect(await al.alerts({ workflow: 'burny', rule: 'slo_burn_rate_ticket' })).toEqual([]);

    // The 5m window cools down, the 6h/30m tier still pages: the same page alert stays.
    clock.advance(10 * MINUTE);
    await al.ticker.evaluate();
    expect((await al.alerts({ workflow: 'burny', rule: 'slo_burn_rate_page' })).map((a) => a.state)).toEqual(['firing']);
    // The 30m window cools down: the page resolves and the ticket (3d/6h) takes over.
    clock.advance(25 * MINUTE);
    await al.ticker.evaluate();
    expect((await al.alerts({ workflow: 'burny', rule: 'slo_burn_rate_page' })).map((a) => a.state)).toEqual(['resolved']);
    const ticket = await al.alerts({ workflow: 'burny', rule: 'slo_burn_rate_ticket' });
    expect(ticket.map((a) => [a.state, a.severity])).toEqual([['firing', 'ticket']]);
    // The 6h window cools down: the ticket resolves too, each exactly once.
    clock.advance(6 * HOUR);
    await al.ticker.evaluate();
    expect(await lifecycle(page[0]!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
    expect(await lifecycle(ticket[0]!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
  });

  it('exposes MTTD, MTTA, MTTR, alert fatigue and pages per owner on /metrics', async () => {
    await al.ticker.evaluate();
    const text = await (await fetch(`${await al.app.getUrl()}/metrics`)).text();
    for (const name of ['steward_alerter_mttd_seconds', 'steward_alerter_mtta_seconds', 'steward_alerter_mttr_seconds', 'steward_alerter_alert_fatigue_ratio']) {
      expect(text).toMatch(new RegExp(`^${name}\\{[^}]*\\} [0-9.e+-]+$`, 'm'));
    }
    expect(text).toMatch(/^steward_alerter_pages_12h\{[^}]*owner="pricing-team"[^}]*\} [1-9]\d*$/m);
    expect(text).toMatch(/^steward_alerter_alerts\{[^}]*state="resolved"[^}]*\} [1-9]\d*$/m);
  });

  it('stays quiet under the minimum volume however bad the ratio', async () => {
    await al.applyWorkflow('quiet', { slo: { successRate: 0.99 } });
    for (let i = 0; i < 3; i++) await al.run('quiet', 'failed');
    await al.settle();
    expect(await al.alerts({ workflow: 'quiet', rule: 'slo_burn_rate_page' })).toEqual([]);
  });

  it('follows budget states from cost tracking, consumed before its contract exists', async () => {
    const budget = (state: 'ALARM' | 'OK') =>
      al.emit('budget-workflow-costly-2026-12', 'budget.threshold_crossed', {
        scope: 'workflow',
        id: 'costly',
        period: '2026-12',
        threshold: { kind: 'actual', percent: 100 },
        state,
        spentMicros: '41000000',
        forecastMicros: '60000000',
        budgetMicros: '40000000',
        owner: 'pricing-team',
        workflowId: 'costly',
        at: clock.now().toISOString(),
      });
    await budget('ALARM');
    await al.settle();
    const [alert] = await al.alerts({ rule: 'budget' });
    expect(alert).toMatchObject({ state: 'firing', severity: 'page', owner: 'pricing-team', workflow_id: 'costly' });
    expect(alert!.summary).toBe('workflow costly spent $41.00 of its $40.00 budget for 2026-12 (threshold actual:100)');
    clock.advance(MINUTE);
    await budget('OK');
    await al.settle();
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
  });

  it('treats a trigger after a resolve as a new alert with the same fingerprint', async () => {
    await al.applyWorkflow('again');
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++) await al.run('again', 'failed');
      await al.run('again', 'succeeded');
    }
    await al.settle();
    const alerts = await al.alerts({ workflow: 'again', rule: 'consecutive_failures' });
    expect(alerts.map((a) => a.state)).toEqual(['resolved', 'resolved']);
    expect(new Set(alerts.map((a) => a.alert_id)).size).toBe(2);
    const { rows } = await al.pool.query(`SELECT DISTINCT fingerprint FROM alerter_alerts WHERE workflow_id = 'again'`);
    expect(rows).toHaveLength(1);
  });

  describe('rule files', () => {
    it('rejects a file with every error named by its path, and keeps the rules it had', async () => {
      const bad = `
receivers:
  - name: ops
    webhook: { url: "not a url" }
rules:
  - name: Bad Name
    signal: consecutive_failures
    for: soon
inhibitions:
  - sourceMatch: { severity: page }
    targetMatch: { severity: ticket }
`;
      const outcome = await al.send('apply_alert_rules', { yaml: bad, file: 'bad.yaml' });
      expect(outcome).toMatchObject({ status: 'rejected', code: 'validation' });
      const reason = (outcome as { reason: string }).reason;
      expect(reason).toContain('receivers[0].webhook.url');
      expect(reason).toContain('rules[0].name');
      expect(reason).toContain('rules[0].for: expected a `for` period such as 30s, 5m or 2h, got "soon"');
      expect(reason).toContain('inhibitions[0].equal');
      const { rows } = await al.pool.query(`SELECT spec->'rules'->0->>'name' AS name FROM alerter_rule_sets`);
      expect(rows).toEqual([{ name: 'breaker' }]);
    });

    it('names an unknown receiver and an unknown template variable', async () => {
      const outcome = await al.send('apply_alert_rules', {
        yaml: `
route: { receiver: nobody }
rules:
  - name: x
    signal: dead_letters
    summary: "{{ colour }} broke"
`,
      });
      expect(outcome).toMatchObject({ status: 'rejected' });
      expect((outcome as { reason: string }).reason).toContain('route.receiver: unknown receiver "nobody"');
      expect((outcome as { reason: string }).reason).toContain('rules[0].summary: unknown template variable "colour"');
    });
  });

  it('keeps its projection idempotent: a redelivered run event changes nothing', async () => {
    await al.applyWorkflow('dup');
    const runId = await al.run('dup', 'failed');
    await al.settle();
    const { rows } = await al.pool.query(`SELECT count(*)::int AS n FROM alerter_run_outcomes WHERE run_id = $1`, [runId]);
    expect(rows[0].n).toBe(1);
    await eventually(async () => expect((await al.alerts({ workflow: 'dup' })).length).toBe(0));
  });

  // Last: every signal above (runs, steps, dead letters, stalls, captures, budgets) is in the store.
  it('rebuilds the signal projection from the store (steward replay start --rebuild alerter) equal to the live one', async () => {
    const verdict = (replayId: string) =>
      eventually(async () => {
        const { rows } = await al.pool.query('SELECT compared, differences, ok FROM projection_rebuilds WHERE replay_id = $1', [replayId]);
        if (rows.length === 0) throw new Error(`${replayId} not rebuilt yet`);
        return rows[0];
      }, 30_000);
    const types = SIGNAL_EVENTS;
    await startRebuildReplay(al.store, env.nats.nc, env.nats.subjects, { replayId: 'alrt-rb-1', consumer: 'alerter', types, db: al.pool });
    const first = await verdict('alrt-rb-1');
    expect(first).toMatchObject({ ok: true, differences: [] });
    expect(Number(first.compared)).toBeGreaterThan(20);
    const { rows } = await al.pool.query<{ run_id: string }>(`SELECT run_id FROM alerter_run_outcomes ORDER BY run_id LIMIT 1`);
    await al.pool.query(`UPDATE alerter_run_outcomes SET outcome = CASE outcome WHEN 'succeeded' THEN 'failed' ELSE 'succeeded' END WHERE run_id = $1`, [rows[0]!.run_id]);
    await startRebuildReplay(al.store, env.nats.nc, env.nats.subjects, { replayId: 'alrt-rb-2', consumer: 'alerter', types, db: al.pool });
    expect(await verdict('alrt-rb-2')).toMatchObject({ ok: false, differences: [`alerter_run_outcomes ["${rows[0]!.run_id}"]: outcome differ`] });
  }, 60_000);
});
