import { runEvents } from '@steward/contracts';
import type { RunCommand } from './run.commands';
import { decideRun } from './run.decide';
import { evolveRun } from './run.evolve';
import { initialRunState, type RunEvent, type RunState } from './run.state';

const RUN_EVENT_TYPES: ReadonlySet<string> = new Set(runEvents.map((e) => e.type));

/**
 * The run aggregate in the shape `handleCommand` of @steward/event-store
 * takes (`Decider<RunState, RunCommand>`). Events of other types that a
 * service appends to a run's stream (timer requests, rejections) leave the
 * state as it is.
 */
export const runDecider = {
  initialState: initialRunState,
  evolve: (state: RunState, event: { type: string; data: unknown }): RunState =>
    RUN_EVENT_TYPES.has(event.type) ? evolveRun(state, event as RunEvent) : state,
  decide: (command: RunCommand, state: RunState): RunEvent[] => decideRun(command, state),
};

export function runStreamId(runId: string): string {
  return `run-${runId}`;
}
