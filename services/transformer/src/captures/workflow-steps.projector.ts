import type { EventData, WorkflowApplied } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';

interface StepLike {
  id?: unknown;
  kind?: unknown;
  needs?: unknown;
  transform?: { name?: unknown; version?: unknown };
}

/**
 * Keeps, per workflow, which `transform` steps follow which collect step,
 * from the latest applied version: the live path transforms a workflow's
 * capture by the transform its workflow names, as soon as it is captured.
 */
export async function projectWorkflowApplied(tx: Queryable, data: EventData<typeof WorkflowApplied>): Promise<number> {
  const steps = Array.isArray((data.definition as { steps?: unknown }).steps) ? ((data.definition as { steps: StepLike[] }).steps) : [];
  const collects = new Set(steps.filter((s) => s.kind === 'collect' && typeof s.id === 'string').map((s) => s.id as string));
  const pairs: Array<[string, string, string, number]> = [];
  for (const s of steps) {
    if (s.kind !== 'transform' || typeof s.id !== 'string' || typeof s.transform?.name !== 'string' || typeof s.transform.version !== 'number') continue;
    const needs = Array.isArray(s.needs) ? s.needs.filter((n): n is string => typeof n === 'string' && collects.has(n)) : [];
    for (const need of needs) pairs.push([need, s.id, s.transform.name, s.transform.version]);
  }
  // Serialises two versions of one workflow applied back to back; the later one wins.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`transformer-workflow:${data.id}`]);
  await tx.query('DELETE FROM transformer_workflow_steps WHERE workflow_id = $1', [data.id]);
  if (pairs.length > 0) {
    await tx.query(
      `INSERT INTO transformer_workflow_steps (workflow_id, collect_step, transform_step, transform, version)
       SELECT $1, p.c, p.t, p.n, p.v FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS p(c, t, n, v)`,
      [data.id, pairs.map((p) => p[0]), pairs.map((p) => p[1]), pairs.map((p) => p[2]), pairs.map((p) => p[3])],
    );
  }
  return pairs.length;
}
