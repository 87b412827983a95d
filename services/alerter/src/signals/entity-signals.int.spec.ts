import { createHash, randomUUID } from 'node:crypto';
import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { startAlerter, TestClock, type AlerterHarness } from '../testing/alerter.harness';
import { HttpReceiver } from '../testing/receivers.fixture';

const MINUTE = 60_000;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The per-step, per-source and per-service signals: each fires once when its
 * condition holds on a synthetic event stream and resolves once when it
 * clears (pending -> firing -> resolved, nothing more).
 */
describe('alerter: per-step, per-source and per-service signals fire and resolve exactly once', () => {
  const env = useTestEnvironment({ label: 'alrtent', setupDatabase: (url) => migrate(url) });
  const clock = new TestClock(new Date('2026-12-03T10:00:00Z'));
  let al: AlerterHarness;
  const hook = new HttpReceiver();

  beforeAll(async () => {
    await hook.start();
    env.track({ end: () => hook.end() });
    al = await startAlerter(env, {
      clock,
      env: {
        ALERTER_STEP_MIN_SAMPLES: '4',
        ALERTER_STEP_SUCCESS_THRESHOLD: '0.5',
        ALERTER_BASELINE_MIN_SAMPLES: '3',
        ALERTER_STEP_BASELINE_FOR_MS: '0',
        ALERTER_SOURCE_MIN_SAMPLES: '4',
        ALERTER_SOURCE_FAILURE_THRESHOLD: '0.5',
        ALERTER_SERVICE_DEAD_LETTERS: '2',
      },
    });
    env.track({ end: () => al.close() });
    const route = `
receivers:
  - { name: hook, webhook: { url: "${hook.url}/alerts" } }
route: { receiver: hook, groupBy: ["..."], groupWait: 0s }
`;
    expect(await al.send('apply_alert_rules', { yaml: route, file: 'route.yaml' })).toMatchObject({ status: 'completed' });
  });

  /** Flushes notifications and returns the webhook's view of one alert (Alertmanager v4 `alerts[]` entry). */
  async function notified(alertId: string): Promise<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }> {
    await al.ticker.dispatch();
    const all = hook.accepted().flatMap((r) => (r.json as { alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }> }).alerts);
    const found = all.filter((a) => a.annotations.description!.includes(`alert: ${alertId}`)).at(-1);
    if (found === undefined) throw new Error(`no notification names alert ${alertId}`);
    return found;
  }

  const lifecycle = async (alertId: string) => (await al.alertEvents(alertId)).map((e) => e.type).filter((t) => t.startsWith('alert.'));
  const row = async (alertId: string) => (await al.pool.query(`SELECT labels, last_error, impact_started_at, summary FROM alerter_alerts WHERE alert_id = $1`, [alertId])).rows[0];

  /** One attempt of a step as the executor records it: queued (to `service`), started, then succeeded or failed `durationMs` later. */
  async function attempt(workflowId: string, stepId: string, outcome: 'succeeded' | 'failed', options: { durationMs?: number; runId?: string; service?: 'collector' | 'transformer' | 'worker'; error?: string } = {}) {
    const runId = options.runId ?? `r-${randomUUID()}`;
    const durationMs = options.durationMs ?? 1000;
    const startedAt = clock.now().toISOString();
    const endedAt = clock.advance(durationMs).toISOString();
    const step = { runId, workflowId, stepId, attempt: 1 };
    const meta = { workflowId, runId };
    const service = options.service ?? 'worker';
    const target = service === 'worker' ? { service, queue: 'default' } : { service };
    await al.emit(`run-${runId}`, 'step.queued', { ...step, version: 1, kind: service === 'worker' ? 'task' : 'collect', target, spec: {}, input: { inputs: {}, outputs: {} }, timeouts: { startToCloseMs: 60_000 }, queuedAt: startedAt }, meta);
    await al.emit(`run-${runId}`, 'step.started', { ...step, startedAt }, meta);
    if (outcome === 'succeeded') await al.emit(`run-${runId}`, 'step.succeeded', { ...step, outputs: {}, succeededAt: endedAt }, meta);
    else await al.emit(`run-${runId}`, 'step.failed', { ...step, error: { code: 'http_500', message: options.error ?? 'portal answered 500', retryable: true }, failedAt: endedAt }, meta);
    clock.advance(1000);
    return runId;
  }

  it('step_success_rate: fires for the failing step only (label step), with its last error, and resolves once the window is healthy', async () => {
    await al.applyWorkflow('stepper', { owner: 'pricing-team' });
    await attempt('stepper', 'fetch', 'failed');
    await attempt('stepper', 'fetch', 'failed');
    await attempt('stepper', 'fetch', 'failed', { error: 'portal answered 503' });
    for (let i = 0; i < 4; i++) await attempt('stepper', 'shape', 'succeeded');
    await al.settle();
    // Three attempts are under the minimum of four: no verdict yet.
    expect(await al.alerts({ workflow: 'stepper', rule: 'step_success_rate' })).toEqual([]);

    await attempt('stepper', 'fetch', 'succeeded');
    await al.settle();
    const [alert] = await al.alerts({ workflow: 'stepper', rule: 'step_success_rate' });
    expect(alert).toMatchObject({ state: 'firing', severity: 'ticket', owner: 'pricing-team', runbook: 'docs/runbooks/step-success-rate.md', summary: 'stepper step fetch succeeded in 25% of 4 attempts over 1h (threshold 50%)' });
    expect(alert!.labels).toMatchObject({ alertname: 'step_success_rate', workflow: 'stepper', step: 'fetch', owner: 'pricing-team' });
    expect((await row(alert!.alert_id)).last_error).toBe('fetch: http_500: portal answered 503');
    expect((await notified(alert!.alert_id)).annotations).toMatchObject({
      last_error: 'fetch: http_500: portal answered 503',
      timeline: expect.stringMatching(/^steward timeline --workflow stepper --since \d+h$/),
      runbook_url: 'docs/runbooks/step-success-rate.md',
    });

    // A healthy hour later the failures left the window.
    clock.advance(61 * MINUTE);
    for (let i = 0; i < 4; i++) await attempt('stepper', 'fetch', 'succeeded');
    await al.settle();
    await al.ticker.evaluate();
    expect((await al.alerts({ workflow: 'stepper', rule: 'step_success_rate' })).map((a) => a.state)).toEqual(['resolved']);
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
  });

  it('step_duration_baseline: fires when a step runs > 20% off its median, not before the minimum samples, and resolves when back', async () => {
    await al.applyWorkflow('slowstep');
    await attempt('slowstep', 'build', 'succeeded', { durationMs: 1000 });
    await attempt('slowstep', 'build', 'succeeded', { durationMs: 1100 });
    await attempt('slowstep', 'build', 'succeeded', { durationMs: 5000 }); // two earlier samples: under the guard of three
    // (the baseline of the next ones is the median of 1000, 1100, 5000, 1000 = 1050 ms)
    await al.settle();
    expect(await al.alerts({ workflow: 'slowstep', rule: 'step_duration_baseline' })).toEqual([]);
    await attempt('slowstep', 'build', 'succeeded', { durationMs: 1000 });
    await attempt('slowstep', 'build', 'succeeded', { durationMs: 3000 });
    await al.settle();
    const [alert] = await al.alerts({ workflow: 'slowstep', rule: 'step_duration_baseline' });
    expect(alert).toMatchObject({ state: 'firing', severity: 'ticket', runbook: 'docs/runbooks/step-duration-baseline.md' });
    expect(alert!.labels).toMatchObject({ step: 'build', workflow: 'slowstep' });
    expect(alert!.summary).toMatch(/^slowstep step build took 3s in run r-.+, 185\.71% slower than its baseline 1s50ms$/);

    await attempt('slowstep', 'build', 'succeeded', { durationMs: 1200 });
    await al.settle();
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
  });

  describe('per source', () => {
    const request = { kind: 'http' as const, target: 'https://portal.example/prices' };
    const fetched = (source: string, ok: boolean) => {
      const at = clock.advance(1000).toISOString();
      const base = { source, workflowId: 'sourced', runId: `r-${randomUUID()}`, stepId: 'fetch', attempt: 1, fingerprint: sha(randomUUID()), request, durationMs: 120 };
      return ok
        ? al.emit(`capture-${base.fingerprint}`, 'collection.raw_captured', {
            ...base, captureId: randomUUID(), status: 200, contentType: 'text/csv', size: 2, sha256: sha('ok'), headers: {}, body: { storage: 'inline', encoding: 'utf8', data: 'ok' }, capturedAt: at,
          })
        : al.emit(`capture-${base.fingerprint}`, 'collection.failed', {
            ...base, failureClass: 'transient', error: { code: 'http_503', message: 'portal unavailable' }, snapshot: { status: 503 }, failedAt: at,
          });
    };

    it('source_failure_rate: fires above the failure ceiling with the source, workflow and owner, and resolves once', async () => {
      await al.applyWorkflow('sourced', { owner: 'supply-team' });
      for (let i = 0; i < 3; i++) await fetched('sourced.fetch', false);
      await al.settle();
      expect(await al.alerts({ rule: 'source_failure_rate' })).toEqual([]);
      await fetched('sourced.fetch', false);
      await al.settle();
      const [alert] = await al.alerts({ rule: 'source_failure_rate' });
      expect(alert).toMatchObject({ state: 'firing', owner: 'supply-team', workflow_id: 'sourced', runbook: 'docs/runbooks/source-failure-rate.md', summary: 'source sourced.fetch failed 100% of 4 fetches over 1h (threshold 50%)' });
      expect(alert!.labels).toMatchObject({ alertname: 'source_failure_rate', source: 'sourced.fetch', workflow: 'sourced', owner: 'supply-team' });
      expect((await row(alert!.alert_id)).last_error).toBe('sourced.fetch: http_503 (transient): portal unavailable');
      expect((await notified(alert!.alert_id)).annotations).toMatchObject({
        owner: 'supply-team',
        last_error: 'sourced.fetch: http_503 (transient): portal unavailable',
        timeline: expect.stringMatching(/^steward timeline --workflow sourced --since \d+h$/),
      });

      for (let i = 0; i < 3; i++) await fetched('sourced.fetch', true);
      await al.settle();
      expect((await al.alerts({ rule: 'source_failure_rate' })).map((a) => a.state)).toEqual(['firing']); // 4 of 7 failed
      await fetched('sourced.fetch', true);
      await al.settle();
      expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
      // A capture still counts toward the workflow's freshness.
      const { rows } = await al.pool.query(`SELECT last_capture_at FROM alerter_workflows WHERE workflow_id = 'sourced'`);
      expect(rows[0].last_capture_at).not.toBeNull();
    });
  });

  it('service_dead_letters: fires when dead letters of steps sent to one service pile up across workflows, and resolves as they are requeued', async () => {
    const deadLetter = async (workflowId: string) => {
      await al.applyWorkflow(workflowId);
      const runId = await attempt(workflowId, 'fetch', 'failed', { service: 'collector' });
      const when = clock.now().toISOString();
      await al.emit(`run-${runId}`, 'step.dead_lettered', {
        runId, workflowId, stepId: 'fetch', version: 1, reason: 'budget_exhausted',
        attempts: [{ attempt: 1, error: { code: 'http_500', message: `${workflowId} portal down`, retryable: true }, failedAt: when }], firstFailureAt: when, lastFailureAt: when, deadLetteredAt: when,
      }, { workflowId, runId });
      return runId;
    };
    const first = await deadLetter('svc-a');
    await al.settle();
    expect(await al.alerts({ rule: 'service_dead_letters' })).toEqual([]);
    await deadLetter('svc-b');
    await al.settle();
    const [alert] = await al.alerts({ rule: 'service_dead_letters' });
    expect(alert).toMatchObject({ state: 'firing', severity: 'page', workflow_id: null, runbook: 'docs/runbooks/service-dead-letters.md', summary: '2 open dead letters of steps sent to collector, in 2 workflows (threshold 2)' });
    expect(alert!.labels).toEqual({ alertname: 'service_dead_letters', service: 'collector', severity: 'page' });
    expect((await row(alert!.alert_id)).last_error).toBe('svc-b/fetch: http_500: svc-b portal down');
    // Not one workflow's: the timeline is the alert's own (its events and what led to it).
    expect((await notified(alert!.alert_id)).annotations).toMatchObject({ last_error: 'svc-b/fetch: http_500: svc-b portal down', timeline: `steward timeline --alert ${alert!.alert_id}` });

    await al.emit(`run-${first}`, 'step.requeued', { runId: first, workflowId: 'svc-a', stepId: 'fetch', actor: 'ana', requeuedAt: clock.now().toISOString() });
    await al.settle();
    expect(await lifecycle(alert!.alert_id)).toEqual(['alert.pending', 'alert.firing', 'alert.resolved']);
    // The ticker re-evaluates the service and opens nothing new.
    await al.ticker.evaluate();
    expect((await al.alerts({ rule: 'service_dead_letters' })).map((a) => a.state)).toEqual(['resolved']);
  });

  it('a declarative rule replaces the built-in one for the steps, sources and services it names', async () => {
    const outcome = await al.send('apply_alert_rules', {
      yaml: `
rules:
  - name: flaky-parse
    signal: step_success_rate
    workflows: [declared]
    steps: [parse]
    threshold: 0.99
    minSamples: 1
    window: 10m
    severity: page
    summary: "{{workflow}}/{{step}} at {{value}} (last: {{last_error}})"
`,
      file: 'rules.yaml',
    });
    expect(outcome).toMatchObject({ status: 'completed' });
    await al.applyWorkflow('declared');
    await attempt('declared', 'parse', 'failed', { error: 'bad csv' });
    await attempt('declared', 'other', 'failed');
    await al.settle();
    const alerts = await al.alerts({ workflow: 'declared' });
    expect(alerts.map((a) => [a.rule, a.state, a.labels.step])).toEqual([['flaky-parse', 'firing', 'parse']]);
    expect(alerts[0]!.summary).toBe('declared/parse at 0 (last: parse: http_500: bad csv)');
  });
});
