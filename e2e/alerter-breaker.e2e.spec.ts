import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createPool, migrate } from '@steward/event-store';
import { CommandBus, type CommandOutcome } from '@steward/messaging';
import { eventually, useTestEnvironment } from '@steward/testing';
import { freePort, ServiceProcess } from './service-process';

const WORKFLOW = 'flaky-portal';
const BREAKER_AFTER = 3;

const WORKFLOW_YAML = `id: ${WORKFLOW}
owner: pricing-team
runbook: docs/runbooks/${WORKFLOW}.md
steps:
  - id: fetch
    task: { handler: always-fails }
`;

// A task that always fails, and says it is no use retrying: each run fails on its first attempt.
const FAILING_HANDLER = `'use strict';
module.exports = {
  name: 'always-fails',
  async run() {
    throw Object.assign(new Error('supplier portal answered 503'), { code: 'portal_down', retryable: false });
  },
};
`;

const rulesYaml = (hookUrl: string) => `
receivers:
  - name: ops-hook
    webhook: { url: "${hookUrl}" }
route: { receiver: ops-hook, groupWait: 0s, groupInterval: 1s }
rules:
  - name: portal-breaker
    signal: consecutive_failures
    workflows: [${WORKFLOW}]
    threshold: ${BREAKER_AFTER}
    severity: page
    summary: "{{workflow}} failed {{value}} runs in a row"
    action: { type: pause_workflow }
`;

interface Received {
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

/**
 * The circuit breaker end to end, every service a real process built in
 * dist/: the scheduler starts runs, the executor's built-in worker pool runs a
 * task that always fails, the alerter sees N failed runs in a row, fires,
 * notifies a webhook and pauses the workflow through the scheduler; an
 * operator's resume_workflow undoes it.
 */
describe('alerter circuit breaker across processes', () => {
  const env = useTestEnvironment({ label: 'alrtbreaker', setupDatabase: (url) => migrate(url) });
  let pool: Pool;

  beforeAll(() => {
    pool = env.track(createPool(env.db.url, { max: 2 }));
  });

  it('pauses a failing workflow after N failed runs with an action caused by the alert, and resume undoes it', async () => {
    const handlers = mkdtempSync(join(tmpdir(), 'steward-breaker-handlers-'));
    writeFileSync(join(handlers, 'always-fails.js'), FAILING_HANDLER);
    const received: Received[] = [];
    const hook = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

    const base = { ...env.env(), LOG_LEVEL: 'warn' };
    const services = [
      new ServiceProcess('ledger', await freePort(), { ...base, RELAY_POLL_MS: '50' }),
      new ServiceProcess('scheduler', await freePort(), { ...base, SCHEDULER_TICK_MS: '200' }),
      new ServiceProcess('executor', await freePort(), { ...base, STEWARD_HANDLERS: handlers, EXECUTOR_WORKER_CONCURRENCY: '1' }),
      new ServiceProcess('alerter', await freePort(), { ...base, ALERTER_DISPATCH_INTERVAL_MS: '200', ALERTER_EVAL_INTERVAL_MS: '1000' }),
    ].map((s) => s.start());
    const bus = new CommandBus(env.nats.nc, env.nats.subjects);
    const send = (service: string, name: string, payload: Record<string, unknown>): Promise<CommandOutcome> => bus.send(service, name, payload, { actor: 'ana', timeoutMs: 15_000 });
    try {
      await Promise.all(services.map((s) => s.waitReady(30_000)));

      expect(await send('alerter', 'apply_alert_rules', { yaml: rulesYaml(hookUrl), file: 'alerts.yaml' })).toMatchObject({ status: 'completed' });
      expect(await send('scheduler', 'apply_workflow', { yaml: WORKFLOW_YAML, file: `${WORKFLOW}.yaml` })).toMatchObject({ status: 'completed' });
      // The alerter knows the workflow (owner, runbook) before its runs end.
      await eventually(async () => expect((await pool.query(`SELECT owner FROM alerter_workflows WHERE workflow_id = $1`, [WORKFLOW])).rows).toEqual([{ owner: 'pricing-team' }]), 15_000);

      const failedRuns = async () => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'run.failed' AND data->>'workflowId' = $1`, [WORKFLOW])).rows[0]!.n;
      for (let i = 1; i <= BREAKER_AFTER; i++) {
        expect(await send('scheduler', 'start_run', { workflow: WORKFLOW })).toMatchObject({ status: 'completed', events: [{ type: 'schedule.run_requested' }] });
        await eventually(async () => expect(await failedRuns()).toBe(i), 20_000);
      }

      // The alert fires once, with the run's last error.
      const alert = await eventually(async () => {
        const { rows } = await pool.query(`SELECT alert_id, state, severity, summary, last_error, owner FROM alerter_alerts WHERE rule = 'portal-breaker'`);
        expect(rows).toHaveLength(1);
        return rows[0] as { alert_id: string; state: string; severity: string; summary: string; last_error: string; owner: string };
      }, 15_000);
      expect(alert).toMatchObject({ state: 'firing', severity: 'page', owner: 'pricing-team', summary: `${WORKFLOW} failed ${BREAKER_AFTER} runs in a row` });
      expect(alert.last_error).toContain('portal_down');

      // alert.action_taken is caused by the alert's firing and names the pause command it sent.
      const { rows: alertEvents } = await pool.query<{ event_id: string; type: string; data: any; metadata: any }>(
        `SELECT event_id, type, data, metadata FROM events WHERE stream_id = $1 ORDER BY stream_version`,
        [`alert-${alert.alert_id}`],
      );
      const firing = alertEvents.find((e) => e.type === 'alert.firing')!;
      const action = alertEvents.find((e) => e.type === 'alert.action_taken');
      expect(action).toBeDefined();
      expect(action!.data).toMatchObject({ action: 'pause_workflow', workflowId: WORKFLOW, command: { service: 'scheduler', name: 'pause_workflow' } });
      expect(action!.metadata).toMatchObject({ causationId: firing.event_id, correlationId: alert.alert_id });

      // The scheduler records workflow.paused for that command, in the alert's correlation.
      const paused = await eventually(async () => {
        const { rows } = await pool.query<{ data: any; metadata: any }>(`SELECT data, metadata FROM events WHERE stream_id = $1 AND type = 'workflow.paused'`, [`workflow-${WORKFLOW}`]);
        expect(rows).toHaveLength(1);
        return rows[0]!;
      }, 15_000);
      expect(paused.metadata).toMatchObject({ correlationId: alert.alert_id });
      expect(JSON.stringify(paused.data)).toContain(alert.alert_id);

      // A paused workflow refuses new runs.
      const refused = await send('scheduler', 'start_run', { workflow: WORKFLOW });
      expect(refused).toMatchObject({ status: 'rejected' });
      expect((refused as { reason: string }).reason).toContain('paused');

      // The notification says what broke, the last error, the automated action and the exact timeline command.
      const notified = await eventually(() => {
        const found = received.flatMap((m) => m.alerts).find((a) => a.labels.alertname === 'portal-breaker' && a.status === 'firing');
        expect(found).toBeDefined();
        return found!;
      }, 15_000);
      expect(notified.annotations).toMatchObject({ summary: `${WORKFLOW} failed ${BREAKER_AFTER} runs in a row`, owner: 'pricing-team', timeline: expect.stringMatching(new RegExp(`^steward timeline --workflow ${WORKFLOW} --since \\d+h$`)) });
      expect(notified.annotations.last_error).toContain('portal_down');
      expect(notified.annotations.description).toContain('automated action: pause_workflow');

      // resume_workflow (what `steward workflows resume` sends) undoes the pause: runs are accepted again.
      expect(await send('scheduler', 'resume_workflow', { id: WORKFLOW, reason: 'portal fixed' })).toMatchObject({ status: 'completed', events: [{ type: 'workflow.resumed' }] });
      expect(await send('scheduler', 'start_run', { workflow: WORKFLOW })).toMatchObject({ status: 'completed', events: [{ type: 'schedule.run_requested' }] });
      await eventually(async () => expect((await pool.query(`SELECT paused FROM alerter_workflows WHERE workflow_id = $1`, [WORKFLOW])).rows).toEqual([{ paused: false }]), 15_000);
    } finally {
      await bus.close();
      await Promise.all(services.map((s) => s.kill('SIGTERM')));
      await new Promise<void>((resolve) => hook.close(() => resolve()));
      rmSync(handlers, { recursive: true, force: true });
    }
  }, 90_000);
});
