import { NotFoundError, type StoredEvent } from '@steward/contracts';
import { hashWorkflow, parseWorkflow } from '@steward/workflow';
import { decideWorkflow, workflowDecider, type WorkflowCommand } from './workflow.decide';
import type { WorkflowEvent } from './workflow.evolve';

const now = new Date('2026-05-04T10:00:00Z');
const yaml = (every: string) => `id: prices\nowner: pricing-team\nrunbook: docs/prices.md\nschedule: { every: ${every} }\nsteps:\n  - id: a\n    task: { handler: noop }\n`;
const apply = (every: string): WorkflowCommand => {
  const definition = parseWorkflow(yaml(every));
  return { type: 'ApplyWorkflow', definition, hash: hashWorkflow(definition), now };
};

/** given(events).when(command).then(events) */
function given(...commands: WorkflowCommand[]) {
  let state = workflowDecider.initialState();
  let version = 0;
  for (const c of commands) {
    for (const e of decideWorkflow(c, state)) state = workflowDecider.evolve(state, { ...e, streamVersion: ++version } as unknown as StoredEvent<WorkflowEvent['data']>);
  }
  return { when: (c: WorkflowCommand) => ({ then: () => decideWorkflow(c, state) }) };
}

describe('workflow decider', () => {
  it('applies a first file as version 1 with owner and runbook lifted out', () => {
    expect(given().when(apply('5m')).then()).toEqual([
      expect.objectContaining({ type: 'workflow.applied', data: expect.objectContaining({ id: 'prices', version: 1, owner: 'pricing-team', runbook: 'docs/prices.md', appliedAt: now.toISOString() }) }),
    ]);
  });

  it('decides nothing for a file with the current hash', () => {
    expect(given(apply('5m')).when(apply('5m')).then()).toEqual([]);
  });

  it('makes a changed file the next version', () => {
    expect(given(apply('5m')).when(apply('10m')).then()).toEqual([expect.objectContaining({ data: expect.objectContaining({ version: 2 }) })]);
  });

  it('pauses with the reason, and pausing a paused workflow decides nothing', () => {
    const pause: WorkflowCommand = { type: 'PauseWorkflow', id: 'prices', reason: 'outage', now };
    expect(given(apply('5m')).when(pause).then()).toEqual([{ type: 'workflow.paused', data: { id: 'prices', reason: 'outage', pausedAt: now.toISOString() }, metadata: { workflowId: 'prices' } }]);
    expect(given(apply('5m'), pause).when(pause).then()).toEqual([]);
  });

  it('resumes only a paused workflow', () => {
    const resume: WorkflowCommand = { type: 'ResumeWorkflow', id: 'prices', now };
    expect(given(apply('5m')).when(resume).then()).toEqual([]);
    expect(given(apply('5m'), { type: 'PauseWorkflow', id: 'prices', now }).when(resume).then()).toEqual([expect.objectContaining({ type: 'workflow.resumed' })]);
  });

  it('refuses to pause or resume a workflow that was never applied', () => {
    expect(() => given().when({ type: 'PauseWorkflow', id: 'ghost', now }).then()).toThrow(NotFoundError);
    expect(() => given().when({ type: 'ResumeWorkflow', id: 'ghost', now }).then()).toThrow(NotFoundError);
  });
});
