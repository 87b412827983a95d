import { NotFoundError, UnavailableError } from '@steward/contracts';
import { UNDEFINED_TABLE, type WorkflowListRow, type WorkflowReadRepository } from './workflow-read.repository';

const DEFAULT_LIMIT = 100;

/**
 * `steward workflows list | show` from the scheduler's projection. The
 * schedule is summarised in the file's own terms (`every: 5m`, `cron` +
 * timezone, `on`, `at`) because that is what the operator wrote.
 */
export class WorkflowReads {
  constructor(private readonly repository: WorkflowReadRepository) {}

  async list(query: { cursor?: string; limit?: number }): Promise<{ items: Record<string, unknown>[]; next?: string }> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString('utf8');
    const rows = await guard(() => this.repository.listWorkflows(after, limit));
    const items = rows.map(summary);
    const last = rows.at(-1);
    return rows.length === limit && last ? { items, next: Buffer.from(last.id, 'utf8').toString('base64url') } : { items };
  }

  async show(id: string): Promise<Record<string, unknown>> {
    const row = await guard(() => this.repository.findWorkflow(id));
    if (!row) throw new NotFoundError('workflow', id);
    const versions = await this.repository.listVersions(id);
    const d = row.definition;
    return {
      ...summary(row),
      hash: row.hash,
      ...(d.description !== undefined && { description: d.description }),
      ...(d.budget !== undefined && { budget: d.budget }),
      ...(d.slo !== undefined && { slo: d.slo }),
      ...(d.concurrency !== undefined && { concurrency: d.concurrency }),
      steps: d.steps,
      lastScheduledAt: row.last_fired_at?.toISOString() ?? null,
      createdAt: row.created_at.toISOString(),
      definition: d,
      versions: versions.map((v) => ({
        version: v.version,
        hash: v.hash,
        appliedAt: v.applied_at.toISOString(),
        ...(v.file !== null && { file: v.file }),
        ...(v.applied_by !== null && { appliedBy: v.applied_by }),
      })),
    };
  }
}

function summary(row: WorkflowListRow): Record<string, unknown> {
  return {
    id: row.id,
    version: row.version,
    owner: row.owner,
    runbook: row.runbook,
    status: row.paused ? 'paused' : 'active',
    paused: row.paused,
    schedule: scheduleSummary(row.schedule),
    nextRunAt: row.paused ? null : (row.next_due_at?.toISOString() ?? null),
    lastRunAt: row.last_run_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The normalised schedule (durations in ms) back in the terms of the file. */
export function scheduleSummary(s: Record<string, unknown> | null): Record<string, unknown> | null {
  if (s === null || typeof s !== 'object') return null;
  const ms = (v: unknown) => (typeof v === 'number' ? duration(v) : undefined);
  switch (s.kind) {
    case 'cron':
      return { cron: s.cron, timezone: s.timezone, catchup: s.catchup, overlap: s.overlap, ...(s.jitterMs !== undefined && { jitter: ms(s.jitterMs) }) };
    case 'interval':
      return { every: ms(s.everyMs), ...(s.phaseMs ? { phase: ms(s.phaseMs) } : {}), catchup: s.catchup, overlap: s.overlap, ...(s.jitterMs !== undefined && { jitter: ms(s.jitterMs) }) };
    case 'event':
      return { on: s.on, where: s.where, overlap: s.overlap };
    case 'once':
      return { at: s.at };
    default:
      return s;
  }
}

const UNITS: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];

function duration(totalMs: number): string {
  if (totalMs === 0) return '0s';
  let rest = totalMs;
  let out = '';
  for (const [unit, size] of UNITS) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/** The projection's tables appear when the scheduler first starts; before that, say so rather than fail. */
async function guard<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_TABLE) {
      // The same answer the CLI turns into "needs the scheduler service".
      throw new UnavailableError('the scheduler service is not running', { service: 'scheduler' }, { cause: err });
    }
    throw err;
  }
}
