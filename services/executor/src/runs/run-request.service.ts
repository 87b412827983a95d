import type { EventData, EventMetadata, ScheduleRunRequested } from '@steward/contracts';
import type { PendingAppends, Queryable } from '@steward/event-store';
import type { WorkflowDefinition } from '@steward/workflow';
import type { Clock } from '../clock';
import type { AdmissionRepository } from './admission.repository';
import type { RunEngine } from './run.engine';
import { decideAdmission, slotOf } from './run-slot.policy';

export type RunRequest = EventData<typeof ScheduleRunRequested>;

const OVERLAP_ACTOR = 'steward:executor';

/**
 * Turns the scheduler's `schedule.run_requested` into a run, admitted at
 * once when its concurrency key has a free slot, otherwise handled by the
 * overlap policy. A repeated request (redelivery, a second scheduler
 * replica) finds the run stream and decides nothing.
 */
export class RunRequestService {
  constructor(
    private readonly engine: RunEngine,
    private readonly admission: AdmissionRepository,
    private readonly clock: Clock,
  ) {}

  async request(tx: Queryable, req: RunRequest, metadata: EventMetadata, later?: PendingAppends): Promise<void> {
    const definition = req.definition as unknown as WorkflowDefinition;
    const slot = slotOf(definition, req.input, req.trigger);
    if (slot.limit !== null) await this.admission.lockKey(tx, slot.key);
    const open = slot.limit === null ? { active: 0, pending: 0 } : await this.admission.countOpen(tx, slot.key, req.runId);
    const decision = decideAdmission(slot, open);
    const now = this.clock.now();
    const requested = await this.engine.execute(
      tx,
      {
        type: 'RequestRun',
        runId: req.runId,
        workflow: definition,
        version: req.version,
        hash: req.hash,
        trigger: req.trigger,
        ...(req.occurrence !== undefined && { occurrence: { id: req.occurrence.id, at: new Date(req.occurrence.at) } }),
        input: req.input,
        now,
        admit: decision === 'admit',
      },
      metadata,
      { known: { workflowId: definition.id, concurrencyKey: slot.key, concurrencyLimit: slot.limit, timeoutMs: definition.timeoutMs ?? null }, ...(later !== undefined && { later }) },
    );
    if (requested.length === 0) return;

    if (decision === 'skip') {
      const reason = `overlap policy ${slot.overlap}: ${open.active} run(s) of ${slot.key} active, ${open.pending} waiting`;
      await this.engine.execute(tx, { type: 'CancelRun', runId: req.runId, reason, actor: OVERLAP_ACTOR, now }, metadata, { ...(later !== undefined && { later }) });
    } else if (decision === 'cancel_previous') {
      // Pending runs first: cancelling an active one frees a slot, and an
      // older pending run must not take it only to be cancelled next.
      for (const runId of await this.admission.openRuns(tx, slot.key, req.runId)) {
        const reason = `overlap policy cancel_previous: superseded by run ${req.runId}`;
        await this.engine.execute(tx, { type: 'CancelRun', runId, reason, actor: OVERLAP_ACTOR, now }, { ...metadata, correlationId: metadata.correlationId ?? runId }, { ...(later !== undefined && { later }) });
      }
      // Every cancelled run released its slot and admitted waiting runs; with nothing left to cancel, do it here.
      await this.engine.admitWaiting(tx, slot.key, slot.limit, metadata, later);
    }
  }
}
