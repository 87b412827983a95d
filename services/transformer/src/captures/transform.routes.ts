import type { Queryable } from '@steward/event-store';
import type { DatasetRepository } from '../datasets/dataset.repository';
import type { TransformRegistry } from '../transforms/transform.registry';
import type { Transform } from '../transforms/transform.define';
import type { Capture } from './capture.transformer';

/** What applies to a capture: a loaded transform, or the ref nobody here can run. */
export type Resolved = { ref: string; transform: Transform } | { ref: string; transform?: undefined };

/**
 * Which transforms a live capture goes through:
 * - a capture of a workflow's collect step: the `transform` steps of that
 *   workflow's latest version that need the step (projected from workflow.applied);
 * - otherwise TRANSFORMER_ROUTES: `source=name@version`, or `source=name`
 *   for the version its dataset currently has (the highest loaded one when
 *   the dataset has none yet).
 */
export class TransformRoutes {
  constructor(
    private readonly registry: TransformRegistry,
    private readonly routes: Map<string, { name: string; version?: number }>,
    private readonly datasets: DatasetRepository,
  ) {}

  async forCapture(tx: Queryable, capture: Capture): Promise<Resolved[]> {
    if (capture.workflowId !== undefined && capture.stepId !== undefined) {
      const { rows } = await tx.query<{ transform: string; version: number }>({
        name: 'transformer_steps_of_collect',
        text: 'SELECT DISTINCT transform, version FROM transformer_workflow_steps WHERE workflow_id = $1 AND collect_step = $2 ORDER BY 1, 2',
        values: [capture.workflowId, capture.stepId],
      });
      if (rows.length > 0) return rows.map((r) => this.byRef(`${r.transform}@${r.version}`));
    }
    const route = this.routes.get(capture.source);
    if (!route) return [];
    if (route.version !== undefined) return [this.byRef(`${route.name}@${route.version}`)];
    return [await this.current(tx, route.name)];
  }

  private byRef(ref: string): Resolved {
    const transform = this.registry.get(ref);
    return transform ? { ref, transform } : { ref };
  }

  private async current(tx: Queryable, name: string): Promise<Resolved> {
    const latest = this.registry.resolve(name);
    if (!latest) return { ref: `${name}@1` };
    const current = await this.datasets.currentVersion(tx, latest.dataset);
    if (current === null) return { ref: latest.ref, transform: latest };
    return this.byRef(`${name}@${current}`);
  }
}
