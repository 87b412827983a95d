import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWorkflow, type WorkflowDefinition } from '@steward/workflow';
import { loadHandlers } from './handler.load';
import { runIsolated } from './task.isolate';

// The examples a newcomer sees first must keep working: every workflow
// parses, every task names a handler in examples/handlers, and the task steps
// run offline in order through the real isolation (approvals assumed granted).

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples');
const handlers = loadHandlers([join(EXAMPLES, 'handlers')]);
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.workflow.yaml'));

async function runTasks(definition: WorkflowDefinition, inputs: Record<string, unknown>, dataDir: string, runId: string) {
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const step of definition.steps) {
    if (step.kind !== 'task') continue;
    const needed = Object.fromEntries(step.needs.filter((n) => outputs[n]).map((n) => [n, outputs[n]]));
    const report = await runIsolated({
      modulePath: handlers.get(step.task.handler)!.modulePath,
      handler: step.task.handler,
      input: { inputs, outputs: needed },
      identity: { runId, stepId: step.id, workflowId: definition.id, attempt: 1 },
      memoryMb: step.task.memoryMb,
      timeoutMs: step.timeoutMs,
      env: { EXAMPLES_DATA_DIR: dataDir },
    });
    if (report.outcome.status !== 'succeeded') throw new Error(`${definition.id}.${step.id} failed: ${JSON.stringify(report.outcome.error)}`);
    outputs[step.id] = report.outcome.outputs;
  }
  return outputs;
}

describe('examples', () => {
  it('has at least two workflows', () => expect(files.length).toBeGreaterThanOrEqual(2));

  it.each(files)('%s parses and names only handlers that examples/handlers provides', (file) => {
    const definition = parseWorkflow(readFileSync(join(EXAMPLES, file), 'utf8'), file);
    for (const step of definition.steps) if (step.kind === 'task') expect(handlers.has(step.task.handler)).toBe(true);
  });

  it('supplier-prices fetches, normalises against the last published list and publishes', async () => {
    const definition = parseWorkflow(readFileSync(join(EXAMPLES, 'supplier-prices.workflow.yaml'), 'utf8'));
    const dataDir = mkdtempSync(join(tmpdir(), 'examples-'));
    const first = await runTasks(definition, { supplier: 'acme-fasteners' }, dataDir, 'run-1');
    expect(first.normalize).toMatchObject({ supplier: 'acme-fasteners', firstSnapshot: true, maxChangePct: 0 });
    expect(existsSync(join(dataDir, 'supplier-prices', 'acme-fasteners.json'))).toBe(true);
    const second = await runTasks(definition, { supplier: 'acme-fasteners' }, dataDir, 'run-2');
    expect(second.normalize!.firstSnapshot).toBe(false);
    expect(second.normalize!.maxChangePct).toBeGreaterThan(0);
    // Deterministic per run: a retried attempt sees the same prices.
    const again = await runTasks(definition, { supplier: 'acme-fasteners' }, mkdtempSync(join(tmpdir(), 'examples-')), 'run-2');
    expect(again.fetch!.rows).toEqual(second.fetch!.rows);
  });

  it('invoice-reconciliation writes the exceptions report', async () => {
    const definition = parseWorkflow(readFileSync(join(EXAMPLES, 'invoice-reconciliation.workflow.yaml'), 'utf8'));
    const dataDir = mkdtempSync(join(tmpdir(), 'examples-'));
    const outputs = await runTasks(definition, { day: '2026-03-01' }, dataDir, 'run-1');
    expect(outputs.match!.exceptionCount).toBeGreaterThan(0);
    const csv = readFileSync(join(dataDir, 'reconciliation', '2026-03-01.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('kind,reference,customer,expected_cents,paid_cents');
    expect(csv).toContain('unknown_payment,UNKNOWN-REF-1');
  });
});
