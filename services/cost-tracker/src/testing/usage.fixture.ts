import type { CostHarness } from './cost.harness';

const HASH = 'a'.repeat(64);

/** Builders for the events the cost tracker consumes, with valid payloads. */
export const usage = {
  async workflow(h: CostHarness, id: string, owner: string, options: { version?: number; monthlyUsd?: number; at?: string } = {}) {
    return h.emit('workflow.applied', {
      id,
      version: options.version ?? 1,
      hash: HASH,
      definition: { id },
      owner,
      runbook: `docs/runbooks/${id}.md`,
      ...(options.monthlyUsd !== undefined && { budget: { monthlyUsd: options.monthlyUsd } }),
      appliedAt: options.at ?? h.clock.now().toISOString(),
    }, { workflowId: id }, 'scheduler');
  },

  async run(h: CostHarness, runId: string, workflowId: string, options: { version?: number; at?: string } = {}) {
    return h.emit('run.requested', {
      runId,
      workflowId,
      version: options.version ?? 1,
      hash: HASH,
      trigger: { kind: 'manual', actor: 'ana' },
      input: {},
      definition: { id: workflowId },
      requestedAt: options.at ?? h.clock.now().toISOString(),
    }, { workflowId });
  },

  async queued(h: CostHarness, runId: string, workflowId: string, stepId: string, queue = 'default') {
    return h.emit('step.queued', {
      runId,
      workflowId,
      stepId,
      version: 1,
      attempt: 1,
      kind: 'task',
      target: { service: 'worker', queue },
      spec: {},
      input: { inputs: {}, outputs: {} },
      timeouts: { startToCloseMs: 60_000 },
      queuedAt: h.clock.now().toISOString(),
    }, { workflowId });
  },

  async succeeded(h: CostHarness, runId: string, workflowId: string, stepId: string, at: string, u: { cpuMs?: number; maxRssKb?: number; wallMs?: number; reported?: Array<Record<string, unknown>> }) {
    return h.emit('step.succeeded', {
      runId,
      workflowId,
      stepId,
      attempt: 1,
      outputs: {},
      usage: { ...(u.cpuMs !== undefined && { cpuMs: u.cpuMs }), ...(u.maxRssKb !== undefined && { maxRssKb: u.maxRssKb }), ...(u.wallMs !== undefined && { wallMs: u.wallMs }) },
      ...(u.reported !== undefined && { reportedUsage: u.reported }),
      succeededAt: at,
    }, { workflowId });
  },
};
