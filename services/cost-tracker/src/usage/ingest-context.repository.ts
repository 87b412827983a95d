import type { Queryable } from '@steward/event-store';
import type { RunAttribution, StepTarget } from './attribution.repository';

/** What costing a batch of events needs to know before it writes anything. */
export interface IngestContext {
  /** Version of the price list (cost_meta): the cached prices are current when it has not moved. */
  pricesVersion: string;
  runs: Map<string, RunAttribution>;
  /** Keyed `runId/stepId`. */
  steps: Map<string, StepTarget>;
  /** Current version and owner of the workflows named by the events, or by their runs that have no owner yet. */
  workflows: Map<string, { version: number; owner: string }>;
}

/**
 * One round trip per batch for everything the batch is costed against: the
 * price list version and the attribution of its runs and steps.
 */
export class IngestContextRepository {
  async load(tx: Queryable, q: { runIds: string[]; workflowIds: string[] }): Promise<IngestContext> {
    const { rows } = await tx.query<{
      prices_version: string | null;
      runs: Array<[string, string, number, string | null]>;
      steps: Array<[string, string, string, string | null]>;
      workflows: Array<[string, number, string]>;
    }>({
      name: 'cost_ingest_context',
      // Each key probes its primary key (OFFSET 0 keeps the planner from turning that into a scan of the table).
      text: `SELECT (SELECT value::text FROM cost_meta WHERE key = 'prices_version') AS prices_version,
                    (SELECT coalesce(json_agg(json_build_array(r.run_id, r.workflow_id, r.version, r.owner)), '[]')
                       FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL (SELECT * FROM cost_runs WHERE run_id = k.id OFFSET 0) AS r) AS runs,
                    (SELECT coalesce(json_agg(json_build_array(s.run_id, s.step_id, s.service, s.queue)), '[]')
                       FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL (SELECT * FROM cost_steps WHERE run_id = k.id OFFSET 0) AS s) AS steps,
                    (SELECT coalesce(json_agg(json_build_array(w.workflow_id, w.version, w.owner)), '[]')
                       FROM (SELECT unnest($2::text[])
                             UNION SELECT r.workflow_id FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL (SELECT * FROM cost_runs WHERE run_id = k.id OFFSET 0) AS r WHERE r.owner IS NULL) AS k(id)
                       CROSS JOIN LATERAL (SELECT * FROM cost_workflows WHERE workflow_id = k.id OFFSET 0) AS w) AS workflows`,
      values: [q.runIds, q.workflowIds],
    });
    const r = rows[0]!;
    return {
      pricesVersion: r.prices_version ?? '0',
      runs: new Map(r.runs.map(([runId, workflowId, version, owner]) => [runId, { workflowId, version, owner }])),
      steps: new Map(r.steps.map(([runId, stepId, service, queue]) => [`${runId}/${stepId}`, { service, queue }])),
      workflows: new Map(r.workflows.map(([id, version, owner]) => [id, { version, owner }])),
    };
  }
}
