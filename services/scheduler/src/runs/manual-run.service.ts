import { uuidv7, type StoredEvent } from '@steward/contracts';
import type { EventStore } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { Clock } from '../clock';
import { commandMetadata, type CommandOutcomes } from '../commands/command.outcome';
import { parsePayload, StartRunPayload } from '../commands/command.payloads';
import { evolveWorkflow, initialWorkflowState, type WorkflowEvent } from '../workflows/workflow.evolve';
import { workflowStreamId } from '../workflows/workflow.decide';
import { decideManualRun, manualStreamId } from './run-request.decide';

/** start_run: an operator's run of the current workflow version, decided on the workflow stream itself. */
export class ManualRunService {
  constructor(
    private readonly store: EventStore,
    private readonly outcomes: CommandOutcomes,
    private readonly clock: Clock,
  ) {}

  start(cmd: CommandEnvelope): Promise<void> {
    // Operators and automations start runs in bursts: those delivered together share a commit.
    return this.outcomes.handleBatched(cmd, async (tx) => {
      const { workflow, input } = parsePayload(StartRunPayload, cmd.payload, 'start_run');
      // The stream, not the projection: a pause committed a moment ago must already count.
      const history = await this.store.readStream(workflowStreamId(workflow), { tx });
      const state = history.reduce((s, e) => evolveWorkflow(s, e as StoredEvent<WorkflowEvent['data']>), initialWorkflowState());
      // Minted inside the inbox transaction: a redelivered command is a duplicate before it gets here.
      const runId = uuidv7();
      const event = decideManualRun({ workflowId: workflow, input: input ?? {}, ...(cmd.actor !== undefined && { actor: cmd.actor }), runId, now: this.clock.now() }, state);
      const metadata = { ...commandMetadata(cmd), workflowId: workflow, runId };
      const { events } = await this.store.append(manualStreamId(runId), [{ ...event, metadata }], { expected: 'no_stream', tx });
      return events;
    });
  }
}
