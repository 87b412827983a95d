import type { Pool } from 'pg';
import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { parseWorkflow } from '@steward/workflow';
import { ensureSchedulerSchema } from '../scheduler.migrations';
import { infra } from '../testing/scheduler.fixture';
import { WorkflowRepository, type TriggerRow } from '../workflows/workflow.repository';
import { TriggerLookup } from './trigger.lookup';

/** The real repository, counting the statements it is asked to run. */
class CountingRepository extends WorkflowRepository {
  statements = 0;

  override findTriggeredByAny(db: Parameters<WorkflowRepository['findTriggeredByAny']>[0], types: string[]): Promise<TriggerRow[]> {
    this.statements++;
    return super.findTriggeredByAny(db, types);
  }
}

const triggered = (id: string, on: string) =>
  parseWorkflow(`id: ${id}\nowner: t\nrunbook: r.md\nschedule: { on: ${on} }\nsteps:\n  - id: s\n    task: { handler: h, queue: q }\n`);

describe('trigger lookup', () => {
  const env = useTestEnvironment({ label: 'schedlookup', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  const repo = new CountingRepository();

  const apply = async (id: string, on: string, position: bigint) => {
    const definition = triggered(id, on);
    await repo.saveApplied(pool, {
      id,
      version: 1,
      hash: id,
      definition,
      owner: 't',
      runbook: 'r.md',
      appliedAt: new Date(),
      streamVersion: 1,
      triggerOn: on,
      position,
    });
  };

  beforeAll(async () => {
    pool = infra(env).pool;
    await ensureSchedulerSchema(pool);
    await apply('on-captured', 'collection.raw_captured', 10n);
  });

  it('answers the events handled together with one statement, each with the workflows its type triggers', async () => {
    const lookup = new TriggerLookup(pool, repo);
    const before = repo.statements;
    const types = ['collection.raw_captured', 'run.succeeded', 'step.queued', 'collection.raw_captured', 'timer.requested'];
    const answers = await Promise.all(types.map((t) => lookup.find(t)));
    expect(answers.map((rows) => rows.map((r) => r.id))).toEqual([['on-captured'], [], [], ['on-captured'], []]);
    expect(answers[0]![0]).toMatchObject({ triggerOn: 'collection.raw_captured', triggerAfter: 10n });
    expect(repo.statements - before).toBe(1);
  });

  it('reads each answer after its question: a workflow applied before the question is seen', async () => {
    const lookup = new TriggerLookup(pool, repo);
    expect(await lookup.find('transformation.completed')).toEqual([]);
    await apply('on-transformed', 'transformation.completed', 20n);
    expect((await lookup.find('transformation.completed')).map((r) => r.id)).toEqual(['on-transformed']);
  });
});
