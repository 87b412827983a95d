import { COST_RECONCILIATION_SQL, costReconciliationOf, type CostReconciliation, type CostReconciliationRow } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';

/** The reconciliation `steward verify` runs (libs/contracts; see docs/cost-tracker.md), for one period or all. */
export type Reconciliation = CostReconciliation;

export async function checkReconciliation(db: Queryable, period?: string): Promise<Reconciliation> {
  const { rows } = await db.query<CostReconciliationRow>(COST_RECONCILIATION_SQL, [period ?? null]);
  return costReconciliationOf(rows[0]!);
}
