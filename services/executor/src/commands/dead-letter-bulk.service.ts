import type { Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { z } from 'zod';
import type { Clock } from '../clock';
import type { DeadLetterAction, DeadLetterActionRepository } from '../projection/dead-letter-action.repository';
import type { RunEngine } from '../runs/run.engine';
import type { CommandResult, CommandRunner, CommandWork } from '@steward/runtime';
import { DiscardDeadLetterPayload, DiscardDeadLettersPayload, RequeueDeadLetterPayload, RequeueDeadLettersPayload } from './command.schemas';

const SINGLE: Record<DeadLetterAction, string> = { requeue: 'requeue_dead_letter', discard: 'discard_dead_letter' };
const DONE: Record<DeadLetterAction, { event: string; outcome: 'requeued' | 'discarded'; again: string }> = {
  requeue: { event: 'step.requeued', outcome: 'requeued', again: 'already requeued' },
  discard: { event: 'step.dead_letter_discarded', outcome: 'discarded', again: 'already discarded' },
};

/**
 * `requeue_dead_letters` / `discard_dead_letters { ids, reason }`: each id
 * goes the single command's way (same decider, actor and reason), in its
 * own transaction with its own inbox entry `<commandId>/<n>`, so a
 * redelivered bulk command resumes where it stopped and an id already
 * requeued or discarded is skipped rather than done twice. The events an
 * id records have causation `<commandId>/<n>` and the command's
 * correlation; what each id came to lands in executor_dead_letter_actions
 * in the same transaction. The command's own outcome, last and the only
 * event whose causation is the command id, is a `command.accepted` listing
 * every event type its ids recorded (or `command.rejected` for a bad
 * payload, before any id is touched).
 */
export class DeadLetterBulk {
  constructor(
    private readonly commands: CommandRunner,
    private readonly engine: RunEngine,
    private readonly actions: DeadLetterActionRepository,
    private readonly clock: Clock,
  ) {}

  async run(command: CommandEnvelope, action: DeadLetterAction): Promise<void> {
    const schema = action === 'requeue' ? RequeueDeadLettersPayload : DiscardDeadLettersPayload;
    const parsed = schema.safeParse(command.payload);
    if (parsed.success) {
      for (const [position, id] of parsed.data.ids.entries()) await this.item(command, action, position, id, parsed.data.reason);
    }
    // A bad payload is rejected here, with its paths, by the same runner.
    await this.commands.run(command, schema, async () => [], { acceptedEvents: (tx) => this.actions.recordedTypes(tx, command.commandId) });
  }

  private async item(command: CommandEnvelope, action: DeadLetterAction, position: number, id: string, reason: string | undefined): Promise<void> {
    const runId = id.slice(0, id.lastIndexOf(':'));
    const item: CommandEnvelope = {
      ...command,
      commandId: `${command.commandId}/${position}`,
      name: SINGLE[action],
      payload: { id, runId, ...(reason !== undefined && { reason }) },
    };
    const onResult = (tx: Queryable, result: CommandResult) =>
      this.actions.record(tx, {
        commandId: command.commandId,
        position,
        deadLetterId: id,
        action,
        ...outcomeOf(action, result),
        ...(command.actor !== undefined && { actor: command.actor }),
        at: this.clock.now().toISOString(),
      });
    if (action === 'requeue') await this.commands.run(item, RequeueDeadLetterPayload, requeueWork(this.engine, this.clock), { onResult });
    else await this.commands.run(item, DiscardDeadLetterPayload, discardWork(this.engine, this.clock), { onResult });
  }
}

/** What `requeue_dead_letter` does, for one id or each id of a bulk command. */
export function requeueWork(engine: RunEngine, clock: Clock): CommandWork<z.output<typeof RequeueDeadLetterPayload>> {
  return (tx, p, meta, c) =>
    engine.execute(tx, { type: 'Requeue', runId: p.runId, stepId: p.stepId, ...(c.actor !== undefined && { actor: c.actor }), ...(p.reason !== undefined && { reason: p.reason }), now: clock.now() }, meta);
}

/** What `discard_dead_letter` does, for one id or each id of a bulk command. */
export function discardWork(engine: RunEngine, clock: Clock): CommandWork<z.output<typeof DiscardDeadLetterPayload>> {
  return (tx, p, meta, c) =>
    engine.execute(tx, { type: 'DiscardDeadLetter', runId: p.runId, stepId: p.stepId, ...(c.actor !== undefined && { actor: c.actor }), reason: p.reason, now: clock.now() }, meta);
}

function outcomeOf(action: DeadLetterAction, result: CommandResult): { outcome: 'requeued' | 'discarded' | 'skipped'; reason?: string; events: string[] } {
  const done = DONE[action];
  switch (result.status) {
    case 'recorded':
      return result.types.includes(done.event) ? { outcome: done.outcome, events: result.types } : { outcome: 'skipped', reason: done.again, events: result.types };
    case 'accepted':
      return { outcome: 'skipped', reason: done.again, events: [] };
    case 'rejected':
      return { outcome: 'skipped', reason: result.reason, events: [] };
  }
}
