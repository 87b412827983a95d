import type { EventEnvelope } from '@steward/contracts';
import { serviceScope, sourceScope } from '../alerts/entity.conditions';
import { BUDGET_SCOPE } from '../alerts/global.conditions';
import { workflowScope } from '../alerts/workflow.conditions';
import type { RunOutcome } from '../projection/signal.repository';
import { BUDGET_THRESHOLD_CROSSED } from './budget.event';

type Data = Record<string, any>;

/** Events applied one at a time between segments (SignalRepository.recordBudget): rare, and all of one scope, so a segment could hold one anyway. */
export const SEGMENT_BARRIERS: ReadonlySet<string> = new Set([BUDGET_THRESHOLD_CROSSED]);

export type AttemptOutcome = 'succeeded' | 'failed' | 'timed_out';

/** One step attempt's changes in a segment, merged in delivery order (queued / started before its outcome). */
export interface AttemptDelta {
  runId: string;
  stepId: string;
  attempt: number;
  workflowId: string;
  service: string | null;
  queuedAt: Date | null;
  startedAt: Date | null;
  outcome: AttemptOutcome | null;
  error: string | null;
  endedAt: Date | null;
}

/** A workflow.applied: the workflow's owner, runbook and objectives. */
export interface WorkflowApplied {
  workflowId: string;
  owner: string;
  runbook: string;
  successObjective: number | null;
  freshnessMs: number | null;
  monthlyBudgetUsd: number | null;
  appliedAt: Date;
}

export interface StalledOpen {
  runId: string;
  stepId: string;
  workflowId: string;
  attempt: number;
  at: Date;
  /** False when its run ended later in the same segment. */
  open: boolean;
}

export interface DeadLetterRecord {
  runId: string;
  stepId: string;
  workflowId: string;
  error: string | null;
  at: Date;
}

export interface SourceOutcomeRow {
  eventId: string;
  source: string;
  workflowId: string | null;
  ok: boolean;
  error: string | null;
  at: Date;
}

/** Stands for every service scope: a dead letter's service is known only once it is written. */
const ANY_SERVICE = 'service:*';

/**
 * The scopes an event may ask to evaluate (a superset: whether it does
 * depends on whether its row was new). Used to lock scopes up front and to
 * cut segments so that no scope sees two events between evaluations.
 */
export function candidateScopes(e: EventEnvelope): string[] {
  const d = e.data as Data;
  switch (e.type) {
    case 'workflow.applied':
    // Paused / resumed evaluate nothing, but share the workflow's row: they cut a segment like its other events.
    case 'workflow.paused':
    case 'workflow.resumed':
      return [workflowScope(d.id)];
    case BUDGET_THRESHOLD_CROSSED:
      return [BUDGET_SCOPE];
    case 'run.succeeded':
    case 'run.failed':
    case 'run.timed_out':
    case 'run.cancelled':
    case 'step.succeeded':
    case 'step.failed':
      return [workflowScope(d.workflowId)];
    case 'step.timed_out':
      return d.timeout === 'approval' ? [] : [workflowScope(d.workflowId)];
    case 'step.dead_lettered':
    case 'step.requeued':
    case 'step.dead_letter_discarded':
      return [workflowScope(d.workflowId), ANY_SERVICE];
    case 'collection.raw_captured':
    case 'collection.failed': {
      const workflowId = d.workflowId ?? e.workflowid;
      return [...(e.type === 'collection.raw_captured' && typeof workflowId === 'string' ? [workflowScope(workflowId)] : []), sourceScope(d.source)];
    }
    default:
      return [];
  }
}

/** Scopes worth locking before the batch's writes (the service of a dead letter is locked when it is known). */
export const lockableScopes = (events: readonly EventEnvelope[]): string[] => [...new Set(events.flatMap(candidateScopes))].filter((s) => s !== ANY_SERVICE);

/** A scope an event asks to evaluate, under a condition only the writes can answer (was it new?). */
export type ScopeClaim =
  | { scope: string; when: 'always'; cause: number }
  | { scope: string; when: 'run_recorded'; key: string; cause: number }
  | { scope: string; when: 'attempt_recorded'; key: string; cause: number }
  | { scope: string; when: 'source_recorded'; key: string; cause: number }
  | { when: 'dead_letter_service'; key: string; cause: number };

/** What the writes of a segment report back, to settle the claims. */
export interface SegmentOutcome {
  recordedRuns: ReadonlySet<string>;
  recordedAttempts: ReadonlySet<string>;
  recordedSources: ReadonlySet<string>;
  /** Dead letter key -> the service its step targeted (null: unknown). */
  deadLetterServices: ReadonlyMap<string, string | null>;
}

export const attemptKey = (runId: string, stepId: string, attempt: number): string => `${runId}\u0000${stepId}\u0000${attempt}`;
export const stepKey = (runId: string, stepId: string): string => `${runId}\u0000${stepId}`;

/**
 * The signal writes of a run of consecutive events (a segment of a delivered
 * batch), folded in memory in delivery order so that each projection table
 * is written by one multi-row statement and the result equals applying the
 * events one at a time. `take` refuses an event (the caller writes and
 * evaluates the segment and starts a new one) whose effect would not commute
 * with what the segment holds (an attempt queued again after its outcome, a
 * dead letter touched twice, a step queued after its dead letter), or that
 * may touch a scope an event of the segment touched: each scope is evaluated
 * after each of its events, as when they came one at a time, so a condition
 * that holds between two events of one batch still fires (and resolves).
 */
export class SignalSegment {
  private readonly scopes = new Set<string>();
  private taken = 0;
  private applies = false;
  private fetches = false;
  readonly workflows = new Map<string, WorkflowApplied>();
  readonly pauses = new Map<string, boolean>();
  readonly attempts = new Map<string, AttemptDelta>();
  /** First outcome per run wins (the insert does nothing for a run already recorded). */
  readonly runs = new Map<string, RunOutcome>();
  readonly captures = new Map<string, Date>();
  readonly stalledOpens = new Map<string, StalledOpen>();
  readonly stalledCloses = new Set<string>();
  readonly deadLetters = new Map<string, DeadLetterRecord>();
  readonly deadLetterCloses = new Map<string, { runId: string; stepId: string }>();
  readonly sources = new Map<string, SourceOutcomeRow>();
  readonly claims: ScopeClaim[] = [];

  get size(): number {
    return this.taken;
  }

  /** Folds event number `index` of the batch in; false when the segment must be written (and evaluated) first. */
  take(e: EventEnvelope, index: number): boolean {
    const scopes = candidateScopes(e);
    if (scopes.some((s) => this.scopes.has(s))) return false;
    // A source's conditions read the owner and runbook of its newest workflow: a workflow.applied and a fetch
    // stay in separate segments, so the source is evaluated with the workflow as it was after its own event.
    const applied = e.type === 'workflow.applied';
    const fetch = e.type.startsWith('collection.');
    if ((applied && this.fetches) || (fetch && this.applies)) return false;
    if (!this.fold(e, index)) return false;
    for (const s of scopes) this.scopes.add(s);
    this.applies ||= applied;
    this.fetches ||= fetch;
    this.taken += 1;
    return true;
  }

  private fold(e: EventEnvelope, index: number): boolean {
    const d = e.data as Data;
    switch (e.type) {
      case 'workflow.applied':
        this.workflows.set(d.id, {
          workflowId: d.id,
          owner: d.owner,
          runbook: d.runbook,
          successObjective: d.slo?.successRate ?? null,
          freshnessMs: d.slo?.freshnessMs ?? null,
          monthlyBudgetUsd: d.budget?.monthlyUsd ?? null,
          appliedAt: new Date(d.appliedAt),
        });
        this.claims.push({ scope: workflowScope(d.id), when: 'always', cause: index });
        return true;
      case 'workflow.paused':
      case 'workflow.resumed':
        this.pauses.set(d.id, e.type === 'workflow.paused');
        return true;
      case 'run.succeeded':
      case 'run.failed':
      case 'run.timed_out': {
        const outcome: RunOutcome['outcome'] = e.type === 'run.succeeded' ? 'succeeded' : e.type === 'run.failed' ? 'failed' : 'timed_out';
        if (!this.runs.has(d.runId)) {
          this.runs.set(d.runId, { runId: d.runId, workflowId: d.workflowId, outcome, durationMs: d.durationMs ?? d.timeoutMs ?? 0, error: runError(e.type, d), endedAt: new Date(d.succeededAt ?? d.failedAt ?? d.timedOutAt ?? e.time) });
        }
        this.closeStalled(d.runId);
        this.claims.push({ scope: workflowScope(d.workflowId), when: 'run_recorded', key: d.runId, cause: index });
        return true;
      }
      case 'run.cancelled':
        this.closeStalled(d.runId);
        this.claims.push({ scope: workflowScope(d.workflowId), when: 'always', cause: index });
        return true;
      case 'step.queued':
      case 'step.started': {
        const key = attemptKey(d.runId, d.stepId, d.attempt);
        if (this.attempts.get(key)?.outcome) return false;
        if (e.type === 'step.queued' && this.touchesDeadLetter(d.runId, d.stepId)) return false;
        const a = this.attempt(d, key);
        if (e.type === 'step.queued') {
          a.service = d.target.service;
          a.queuedAt = new Date(d.queuedAt);
        } else {
          a.startedAt = new Date(d.startedAt);
        }
        return true;
      }
      case 'step.succeeded':
      case 'step.failed': {
        const failed = e.type === 'step.failed';
        const key = attemptKey(d.runId, d.stepId, d.attempt);
        this.outcome(d, key, failed ? 'failed' : 'succeeded', failed ? `${d.stepId}: ${d.error.code}: ${d.error.message}` : null, new Date(failed ? d.failedAt : d.succeededAt));
        this.claims.push({ scope: workflowScope(d.workflowId), when: 'attempt_recorded', key, cause: index });
        return true;
      }
      case 'step.timed_out': {
        // An approval that ran out of time is a decision nobody made, not a failed attempt.
        if (d.timeout === 'approval') return true;
        const at = new Date(d.timedOutAt);
        this.outcome(d, attemptKey(d.runId, d.stepId, d.attempt), 'timed_out', `${d.stepId}: attempt ${d.attempt} timed out (${d.timeout})`, at);
        if (d.timeout === 'heartbeat') {
          const key = attemptKey(d.runId, d.stepId, d.attempt);
          // A row already inserted in this segment keeps its first values (the insert does nothing on conflict).
          if (!this.stalledOpens.has(key)) this.stalledOpens.set(key, { runId: d.runId, stepId: d.stepId, workflowId: d.workflowId, attempt: d.attempt, at, open: true });
        }
        this.claims.push({ scope: workflowScope(d.workflowId), when: 'always', cause: index });
        return true;
      }
      case 'step.dead_lettered':
      case 'step.requeued':
      case 'step.dead_letter_discarded': {
        const key = stepKey(d.runId, d.stepId);
        if (this.touchesDeadLetter(d.runId, d.stepId)) return false;
        if (e.type === 'step.dead_lettered') {
          const last = (d.attempts as Array<{ error: { code: string; message: string } }>).at(-1);
          this.deadLetters.set(key, { runId: d.runId, stepId: d.stepId, workflowId: d.workflowId, error: last ? `${d.stepId}: ${last.error.code}: ${last.error.message}` : null, at: new Date(d.deadLetteredAt) });
        } else {
          this.deadLetterCloses.set(key, { runId: d.runId, stepId: d.stepId });
        }
        this.claims.push({ scope: workflowScope(d.workflowId), when: 'always', cause: index }, { when: 'dead_letter_service', key, cause: index });
        return true;
      }
      case 'collection.raw_captured':
      case 'collection.failed': {
        const ok = e.type === 'collection.raw_captured';
        const workflowId = d.workflowId ?? e.workflowid;
        const at = new Date(ok ? d.capturedAt : d.failedAt);
        const known = typeof workflowId === 'string';
        if (!this.sources.has(e.id)) {
          this.sources.set(e.id, { eventId: e.id, source: d.source, workflowId: known ? workflowId : null, ok, error: ok ? null : `${d.source}: ${d.error.code} (${d.failureClass}): ${d.error.message}`, at });
        }
        if (ok && known) {
          this.latest(this.captures, workflowId, at);
          this.claims.push({ scope: workflowScope(workflowId), when: 'source_recorded', key: e.id, cause: index });
        }
        this.claims.push({ scope: sourceScope(d.source), when: 'source_recorded', key: e.id, cause: index });
        return true;
      }
      default:
        return true;
    }
  }

  /** The scopes to evaluate and, for each, the batch index of the last event that asked for it. */
  settle(out: SegmentOutcome, into: Map<string, number>): void {
    const add = (scope: string, cause: number) => into.set(scope, Math.max(cause, into.get(scope) ?? -1));
    for (const c of this.claims) {
      if (c.when === 'always') add(c.scope, c.cause);
      else if (c.when === 'run_recorded') {
        if (out.recordedRuns.has(c.key)) add(c.scope, c.cause);
      } else if (c.when === 'attempt_recorded') {
        if (out.recordedAttempts.has(c.key)) add(c.scope, c.cause);
      } else if (c.when === 'source_recorded') {
        if (out.recordedSources.has(c.key)) add(c.scope, c.cause);
      } else {
        const service = out.deadLetterServices.get(c.key);
        if (service !== undefined && service !== null) add(serviceScope(service), c.cause);
      }
    }
  }

  private attempt(d: Data, key: string): AttemptDelta {
    let a = this.attempts.get(key);
    if (a === undefined) {
      a = { runId: d.runId, stepId: d.stepId, attempt: d.attempt, workflowId: d.workflowId, service: null, queuedAt: null, startedAt: null, outcome: null, error: null, endedAt: null };
      this.attempts.set(key, a);
    }
    return a;
  }

  /** The first outcome of an attempt counts; a later one changes nothing, as the one-at-a-time upsert. */
  private outcome(d: Data, key: string, outcome: AttemptOutcome, error: string | null, endedAt: Date): void {
    const a = this.attempt(d, key);
    if (a.outcome !== null) return;
    a.outcome = outcome;
    a.error = error;
    a.endedAt = endedAt;
  }

  /** The run ended: attempts it stalled earlier in this segment are inserted closed, older ones are closed in place. */
  private closeStalled(runId: string): void {
    this.stalledCloses.add(runId);
    for (const s of this.stalledOpens.values()) if (s.runId === runId) s.open = false;
  }

  private touchesDeadLetter(runId: string, stepId: string): boolean {
    const key = stepKey(runId, stepId);
    return this.deadLetters.has(key) || this.deadLetterCloses.has(key);
  }

  private latest(map: Map<string, Date>, key: string, at: Date): void {
    const current = map.get(key);
    if (current === undefined || at > current) map.set(key, at);
  }
}

export function runError(type: string, d: Data): string | null {
  if (type === 'run.timed_out') return `run timed out after ${d.timeoutMs} ms`;
  if (type !== 'run.failed') return null;
  const step = (d.failedSteps as Array<{ stepId: string; status: string; error?: { code: string; message: string } }>)[0];
  if (!step) return null;
  return step.error ? `${step.stepId}: ${step.error.code}: ${step.error.message}` : `${step.stepId} ${step.status}`;
}
