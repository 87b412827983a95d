import type { Queryable } from '@steward/event-store';
import type { RunProjectionRepository } from '../projection/run-projection.repository';

/**
 * Reads for concurrency and overlap control. Callers hold the key's lock
 * (lockKey) for the rest of their transaction, so counting, admitting and
 * the projection update that follows are one step for every other replica.
 */
export class AdmissionRepository {
  /** `runs`: its rows a batch holds back are written before any count (RunProjectionRepository.hold). */
  constructor(private readonly runs: RunProjectionRepository) {}

  /** Transaction-scoped, re-entrant within the session; released at commit or rollback. */
  async lockKey(tx: Queryable, key: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('executor-slot:' || $1, 0))`, [key]);
  }

  async countOpen(tx: Queryable, key: string, excludeRunId?: string): Promise<{ active: number; pending: number }> {
    await this.runs.settle(tx);
    const { rows } = await tx.query<{ active: number; pending: number }>(
      `SELECT count(*) FILTER (WHERE status <> 'pending')::int AS active, count(*) FILTER (WHERE status = 'pending')::int AS pending
       FROM executor_runs
       WHERE concurrency_key = $1 AND status IN ('pending', 'queued', 'running', 'awaiting_approval') AND run_id IS DISTINCT FROM $2`,
      [key, excludeRunId ?? null],
    );
    return rows[0]!;
  }

  /** First come, first admitted. */
  async oldestPending(tx: Queryable, key: string): Promise<string | undefined> {
    await this.runs.settle(tx);
    const { rows } = await tx.query<{ runId: string }>(
      `SELECT run_id AS "runId" FROM executor_runs WHERE concurrency_key = $1 AND status = 'pending' ORDER BY requested_at, run_id LIMIT 1`,
      [key],
    );
    return rows[0]?.runId;
  }

  /** The open runs cancel_previous stops: pending ones first, then the active ones, oldest first. */
  async openRuns(tx: Queryable, key: string, excludeRunId: string): Promise<string[]> {
    await this.runs.settle(tx);
    const { rows } = await tx.query<{ runId: string }>(
      `SELECT run_id AS "runId" FROM executor_runs
       WHERE concurrency_key = $1 AND status IN ('pending', 'queued', 'running', 'awaiting_approval') AND run_id <> $2
       ORDER BY status <> 'pending', requested_at, run_id`,
      [key, excludeRunId],
    );
    return rows.map((r) => r.runId);
  }
}
