import { migrate } from '@steward/event-store';
import { decodeCommand } from '@steward/messaging';
import { eventually, useTestEnvironment, startStoreRelay } from '@steward/testing';
import { appendCapture, captureOf, eventsOfType, startTransformer, testStore } from '../testing/transformer.harness';

const env = useTestEnvironment({ setupDatabase: (url) => migrate(url).then(() => undefined) });
const HASH = 'a'.repeat(64);

describe('workflow transform steps', () => {
  let s: ReturnType<typeof testStore>;
  const reports: Array<{ name: string; payload: Record<string, any> }> = [];

  beforeAll(async () => {
    s = testStore(env);
    env.track(await startTransformer(env));
    const relay = startStoreRelay(s.store, env.nats.nc, env.nats.subjects, s.registry);
    env.track({ end: () => relay.stop() });
    const sub = env.nats.nc.subscribe(env.nats.subjects.commands('executor'), {
      callback: (_err, msg) => {
        const c = decodeCommand(msg);
        reports.push({ name: c.name, payload: c.payload as Record<string, any> });
      },
    });
    env.track({ end: async () => sub.unsubscribe() });
  });

  async function applyWorkflow(): Promise<void> {
    const definition = {
      id: 'supplier-sync',
      steps: [
        { id: 'fetch', kind: 'collect', needs: [] },
        { id: 'normalize', kind: 'transform', needs: ['fetch'], transform: { name: 'supplier-prices', version: 2 } },
      ],
    };
    await s.store.append('workflow-supplier-sync', [{ type: 'workflow.applied', data: { id: 'supplier-sync', version: 1, hash: HASH, definition, owner: 'pricing', runbook: 'docs/x.md', appliedAt: new Date().toISOString() }, metadata: { correlationId: 'wf' } }], { expected: 'any' });
    await eventually(async () => expect((await s.pool.query("SELECT transform, version FROM transformer_workflow_steps WHERE workflow_id = 'supplier-sync' AND collect_step = 'fetch'")).rows).toEqual([{ transform: 'supplier-prices', version: 2 }]));
  }

  async function queueStep(runId: string, outputs: Record<string, unknown>, attempt = 1): Promise<void> {
    await s.store.append(
      `run-${runId}`,
      [
        {
          type: 'step.queued',
          data: { runId, workflowId: 'supplier-sync', stepId: 'normalize', version: 1, attempt, kind: 'transform', target: { service: 'transformer' }, spec: { name: 'supplier-prices', version: 2 }, input: { inputs: {}, outputs }, timeouts: { startToCloseMs: 60_000 }, queuedAt: new Date().toISOString() },
          metadata: { correlationId: runId, runId, workflowId: 'supplier-sync' },
        },
      ],
      { expected: 'any' },
    );
  }

  it('transforms a workflow capture as it arrives and reports the step from the same application, once', async () => {
    await applyWorkflow();
    const runId = 'run-1';
    const capture = captureOf('supplier-sync.fetch', 'sku,description,price,currency\nAB-1,Bolt,1.25,eur\nAB-2,,2.00,EUR\n', { workflowId: 'supplier-sync', runId, stepId: 'fetch' });
    await appendCapture(s.store, capture);
    await eventually(async () => expect(await eventsOfType(s.store, 'transformation.completed')).toHaveLength(1));
    await queueStep(runId, { fetch: { captureId: capture.captureId, fingerprint: capture.fingerprint } });
    const result = await eventually(() => {
      const r = reports.find((x) => x.name === 'report_step_result' && x.payload.runId === runId);
      expect(r).toBeDefined();
      return r!;
    });
    expect(reports.filter((x) => x.payload.runId === runId).map((x) => x.name)).toEqual(['report_step_started', 'report_step_result']);
    expect(result.payload).toMatchObject({ stepId: 'normalize', attempt: 1, outcome: { status: 'succeeded', outputs: { dataset: 'supplier-prices', datasetVersion: 2, counts: { rows: 2, upserted: 1, unchanged: 0, quarantined: 1 } } } });
    expect(await eventsOfType(s.store, 'transformation.completed')).toHaveLength(1);
  });

  it('transforms on the step when the capture was not transformed yet (found through the run), and reports maxChangePct', async () => {
    const runId = 'run-2';
    const capture = captureOf('elsewhere.fetch', 'sku,description,price,currency\nAB-1,Bolt,1.50,EUR\n', { runId, at: new Date('2026-02-01T00:00:00Z') });
    await appendCapture(s.store, capture);
    await queueStep(runId, { fetch: { captureId: capture.captureId } });
    const result = await eventually(() => {
      const r = reports.find((x) => x.name === 'report_step_result' && x.payload.runId === runId);
      expect(r).toBeDefined();
      return r!;
    });
    expect(result.payload.outcome).toEqual({ status: 'succeeded', outputs: { dataset: 'supplier-prices', datasetVersion: 2, counts: { rows: 1, upserted: 1, unchanged: 0, quarantined: 0 }, maxChangePct: 20 } });
  });

  it('fails the step, not retryable, when no needed step names a capture', async () => {
    await queueStep('run-3', { fetch: { rows: 3 } });
    const result = await eventually(() => {
      const r = reports.find((x) => x.name === 'report_step_result' && x.payload.runId === 'run-3');
      expect(r).toBeDefined();
      return r!;
    });
    expect(result.payload.outcome).toMatchObject({ status: 'failed', error: { code: 'no_capture', retryable: false } });
  });
});
