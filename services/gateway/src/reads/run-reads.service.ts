import { NotFoundError, ValidationError } from '@steward/contracts';
import { HttpReply } from '../http/http-reply';
import type { ReadModelGate } from '../operator/read-model.gate';
import type { AttemptRow, DeadLetterFilter, RunListRow, RunReadsRepository } from './run-reads.repository';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const WAIT_POLL_MS = 250;
/** A held request is a connection and a poll loop: bound it whatever the caller asks. */
export const MAX_WAIT_MS = 10 * 60_000;

export interface Page {
  cursor?: string;
  limit?: number;
}

/**
 * Answers the run, approval and dead-letter reads from the executor's
 * projection tables. Before the executor ever started there are no tables:
 * that is the "executor is not running" answer of the read-model gate, never
 * an empty list that looks real.
 */
export class RunReadsService {
  constructor(
    private readonly repository: RunReadsRepository,
    private readonly gate: ReadModelGate,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async listRuns(q: Page & { workflow?: string; status?: string }) {
    const limit = q.limit ?? 50;
    const rows = await this.read('runs', () =>
      this.repository.listRuns({ limit, ...(q.workflow !== undefined && { workflow: q.workflow }), ...(q.status !== undefined && { status: q.status }), ...(q.cursor !== undefined && { after: decodeCursor(q.cursor) }) }),
    );
    return page(rows.map(runItem), limit, (last) => ({ at: last.requestedAt, id: last.id }), rows);
  }

  async showRun(runId: string) {
    const run = await this.read('runs', () => this.repository.findRun(runId));
    if (run === undefined) throw new NotFoundError('run', runId);
    const { steps, attempts } = await this.repository.stepsOf(runId);
    const byStep = new Map<string, AttemptRow[]>();
    for (const a of attempts) byStep.set(a.stepId, [...(byStep.get(a.stepId) ?? []), a]);
    return {
      ...runItem(run),
      version: run.version,
      ...(run.occurrenceId !== null && { occurrence: run.occurrenceId }),
      queuedAt: iso(run.queuedAt),
      ...(run.outcome !== null && { outcome: run.outcome }),
      steps: steps.map((s) => ({
        id: s.id,
        kind: s.kind,
        state: s.status,
        // `status` too: the CLI's step table reads it.
        status: s.status,
        needs: s.needs,
        attempts: (byStep.get(s.id) ?? []).map((a) => ({
          attempt: a.attempt,
          queuedAt: iso(a.queuedAt),
          startedAt: iso(a.startedAt),
          endedAt: iso(a.endedAt),
          ...(a.worker !== null && { worker: a.worker }),
          ...(a.outcome !== null && { outcome: a.outcome }),
          error: a.error,
        })),
        startedAt: iso(s.startedAt),
        endedAt: iso(s.endedAt),
        durationMs: num(s.durationMs),
        ...(s.lastError !== null && { error: `${s.lastError.code}: ${s.lastError.message}` }),
      })),
    };
  }

  /** Holds the request until the run ends: 200 with the run, or 408 when it is still going at the timeout. */
  async waitForRun(runId: string, timeoutMs: number) {
    const deadline = Date.now() + Math.min(timeoutMs, MAX_WAIT_MS);
    for (;;) {
      const status = await this.read('runs', () => this.repository.runStatus(runId));
      if (status === undefined) throw new NotFoundError('run', runId);
      if (TERMINAL.has(status)) return this.showRun(runId);
      if (Date.now() >= deadline) {
        return new HttpReply(408, { error: { code: 'timeout', message: `run ${runId} did not end within ${Math.round(timeoutMs / 1000)}s (it is ${status})`, context: { runId, status } } });
      }
      await this.sleep(Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }

  async pendingApprovals(q: Page) {
    const limit = q.limit ?? 50;
    const rows = await this.read('approvals', () => this.repository.pendingApprovals(limit, q.cursor === undefined ? undefined : decodeCursor(q.cursor)));
    const items = rows.map((a) => ({
      id: `${a.runId}:${a.stepId}`,
      run: a.runId,
      step: a.stepId,
      workflow: a.workflowId,
      approvers: a.approvers,
      requestedAt: a.requestedAt.toISOString(),
      expiresAt: a.dueAt.toISOString(),
      onTimeout: a.onTimeout,
      escalated: a.escalated,
    }));
    return page(items, limit, (last) => ({ at: last.requestedAt, id: last.id }), rows);
  }

  async deadLetters(q: Page & DeadLetterFilter) {
    const limit = q.limit ?? 50;
    const rows = await this.read('dead letters', () => this.repository.openDeadLetters(limit, q.cursor === undefined ? undefined : decodeCursor(q.cursor), filterOf(q)));
    const items = rows.map((d) => {
      const last = d.attempts.at(-1);
      return {
        id: d.id,
        workflow: d.workflowId,
        version: d.version,
        run: d.runId,
        step: d.stepId,
        attempts: d.attempts.length,
        reason: d.reason,
        firstFailureAt: d.firstFailureAt.toISOString(),
        lastFailureAt: d.lastFailureAt.toISOString(),
        deadLetteredAt: d.deadLetteredAt.toISOString(),
        ...(last !== undefined && { error: `${last.error.code}: ${last.error.message}` }),
        history: d.attempts,
      };
    });
    return page(items, limit, (last) => ({ at: last.deadLetteredAt, id: last.id }), rows);
  }

  /** The open dead letters a bulk request acts on: at most `cap` ids, and whether more matched. */
  async matchDeadLetters(filter: DeadLetterFilter, cap: number): Promise<{ ids: string[]; truncated: boolean }> {
    const ids = await this.read('dead letters', () => this.repository.matchDeadLetters(filterOf(filter), cap + 1));
    return { ids: ids.slice(0, cap), truncated: ids.length > cap };
  }

  /** Each id's outcome of a bulk dead-letter command; complete once the command's own outcome event arrived. */
  async deadLetterActions(commandId: string) {
    return this.read('dead letters', () => this.repository.deadLetterActions(commandId));
  }

  private async read<T>(readModel: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      // undefined_table: the executor has not created its projection in this database yet.
      if ((err as { code?: string }).code === '42P01') return this.gate.unavailable('executor', readModel);
      throw err;
    }
  }
}

function filterOf(f: DeadLetterFilter): DeadLetterFilter {
  return {
    ...(f.workflow !== undefined && { workflow: f.workflow }),
    ...(f.step !== undefined && { step: f.step }),
    ...(f.code !== undefined && { code: f.code }),
    ...(f.sinceMs !== undefined && { sinceMs: f.sinceMs }),
  };
}

function runItem(r: RunListRow) {
  return {
    id: r.id,
    workflow: r.workflow,
    status: r.status,
    trigger: r.trigger.kind,
    ...(r.trigger.actor !== undefined && { triggeredBy: r.trigger.actor }),
    requestedAt: r.requestedAt.toISOString(),
    startedAt: iso(r.startedAt),
    endedAt: iso(r.endedAt),
    durationMs: num(r.durationMs),
  };
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const num = (v: string | null): number | null => (v === null ? null : Number(v));

/** `next` when the page is full; the cursor is opaque to clients (base64url of `at|id`). */
function page<I, R>(items: I[], limit: number, key: (last: I) => { at: string; id: string }, rows: R[]): { items: I[]; next?: string } {
  const last = items.at(-1);
  if (rows.length < limit || last === undefined) return { items };
  const k = key(last);
  return { items, next: Buffer.from(`${k.at}|${k.id}`, 'utf8').toString('base64url') };
}

function decodeCursor(text: string): { at: string; id: string } {
  const decoded = /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, 'base64url').toString('utf8') : '';
  const cut = decoded.indexOf('|');
  const at = decoded.slice(0, cut);
  if (cut <= 0 || Number.isNaN(Date.parse(at))) {
    throw new ValidationError('query.cursor: not a cursor this list handed out', [{ path: 'query.cursor', message: 'not a cursor this list handed out' }]);
  }
  return { at, id: decoded.slice(cut + 1) };
}
