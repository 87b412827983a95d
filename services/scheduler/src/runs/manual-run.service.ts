import { uuidv7, type StoredEvent } from '@steward/contracts';
import type { EventStore, PendingAppends, Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { Clock } from '../clock';
import { commandMetadata, type CommandOutcomes } from '../commands/command.outcome';
import { parsePayload, StartRunPayload } from '../commands/command.payloads';
import { evolveWorkflow, initialWorkflowState, type WorkflowEvent } from '../workflows/workflow.evolve';
import { workflowStreamId } from '../workflows/workflow.decide';
import { decideManualRun, manualStreamId } from './run-request.decide';

/** start_run: an operator's run of the current workflow version, decided on the workflow stream itself. */
export class ManualRunService {
  /** Workflow streams read by a batch of start_run commands, per batch (its PendingAppends), so a burst reads each once. */
  private readonly batchReads = new WeakMap<PendingAppends, Map<string, Promise<StoredEvent[]>>>();

  constructor(
    private readonly store: EventStore,
    private readonly outcomes: CommandOutcomes,
    private readonly clock: Clock,
  ) {}

  start(cmd: CommandEnvelope): Promise<void> {
    // Operators and automations start runs in bursts: those delivered together share a commit.
    return this.outcomes.handleBatched(cmd, async (tx, later) => {
      const { workflow, input } = parsePayload(StartRunPayload, cmd.payload, 'start_run');
      // The stream, not the projection: a pause committed a moment ago must already count.
      const history = await this.workflowStream(tx, workflow, later);
      const state = history.reduce((s, e) => evolveWorkflow(s, e as StoredEvent<WorkflowEvent['data']>), initialWorkflowState());
      // Minted inside the inbox transaction: a redelivered command is a duplicate before it gets here.
      const runId = uuidv7();
      const event = decideManualRun({ workflowId: workflow, input: input ?? {}, ...(cmd.actor !== undefined && { actor: cmd.actor }), runId, now: this.clock.now() }, state);
      const metadata = { ...commandMetadata(cmd), workflowId: workflow, runId };
      const appended = [{ ...event, metadata }];
      // A new stream of its own: in a batch, written with the batch's other runs in one statement.
      const { events } = later ? later.add(manualStreamId(runId), appended, 'no_stream') : await this.store.append(manualStreamId(runId), appended, { expected: 'no_stream', tx });
      return events;
    });
  }

  /**
   * Commands of one batch commit together, so they may all decide on one
   * read of the workflow's stream: as if they had arrived at that read.
   */
  private workflowStream(tx: Queryable, workflow: string, later: PendingAppends | undefined): Promise<StoredEvent[]> {
    const read = () => this.store.readStream(workflowStreamId(workflow), { tx });
    if (later === undefined) return read();
    let reads = this.batchReads.get(later);
    if (reads === undefined) this.batchReads.set(later, (reads = new Map()));
    let history = reads.get(workflow);
    if (history === undefined) reads.set(workflow, (history = read()));
    return history;
  }
}
