import { concurrencyKeyOf, resolveRunInput, type OverlapPolicy, type RunTrigger, type WorkflowDefinition } from '@steward/workflow';

// Concurrency and overlap control, as pure functions of the definition and
// the counts the admission repository reads under the key's lock.

export interface RunSlot {
  /** Runs are counted per key: the workflow id, plus the value of `concurrency.key` over the inputs. */
  key: string;
  /** Active runs allowed per key; null is unlimited. */
  limit: number | null;
  /** Applies to runs its schedule or trigger started; an operator's run waits its turn instead. */
  overlap?: OverlapPolicy;
}

export function slotOf(definition: WorkflowDefinition, input: Record<string, unknown>, trigger: Pick<RunTrigger, 'kind'>): RunSlot {
  const schedule = definition.schedule;
  const overlap = trigger.kind === 'manual' || schedule === undefined || !('overlap' in schedule) ? undefined : schedule.overlap;
  // An overlap policy other than allow only means something with a limit: without `concurrency`, one run at a time.
  const limit = definition.concurrency?.limit ?? (overlap !== undefined && overlap !== 'allow' ? 1 : null);
  return { key: concurrencyKeyOf(definition, inputWithDefaults(definition, input)), limit, ...(overlap !== undefined && { overlap }) };
}

/** Defaults count for the key too; an input the decider will refuse falls back to what was given. */
function inputWithDefaults(definition: WorkflowDefinition, input: Record<string, unknown>): Record<string, unknown> {
  try {
    return resolveRunInput(definition, input);
  } catch {
    return input;
  }
}

/**
 * - admit: a slot is free and nobody is waiting for it;
 * - wait: stay pending until a slot frees (buffer_all, allow, buffer_one with an empty buffer, manual runs);
 * - skip: cancel the new run (skip, or buffer_one whose buffer is full);
 * - cancel_previous: cancel the open runs of the key, then the new run takes the freed slot.
 */
export type AdmissionDecision = 'admit' | 'wait' | 'skip' | 'cancel_previous';

export function decideAdmission(slot: RunSlot, open: { active: number; pending: number }): AdmissionDecision {
  if (slot.limit === null) return 'admit';
  if (open.active < slot.limit && open.pending === 0) return 'admit';
  switch (slot.overlap) {
    case 'skip':
      return 'skip';
    case 'buffer_one':
      return open.pending === 0 ? 'wait' : 'skip';
    case 'cancel_previous':
      return 'cancel_previous';
    case 'buffer_all':
    case 'allow':
    case undefined:
      return 'wait';
    default: {
      const unknown: never = slot.overlap;
      throw new Error(`unknown overlap policy ${String(unknown)}`);
    }
  }
}
