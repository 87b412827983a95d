import { runStateMachine } from './run.state-machine';
import { stepStateMachine } from './step.state-machine';
import { renderStateMachine, type StateMachine } from './transition.table';

// docs/state-machines.md is hand-written prose around generated blocks: each
// machine's table sits between `<!-- state-machine:NAME -->` markers and is
// rewritten from the code by `node libs/workflow/dist/state-machines.cli.js`;
// a unit test fails when the two differ.

export const STATE_MACHINES: ReadonlyArray<StateMachine<string, string>> = [runStateMachine, stepStateMachine];

function block(machine: StateMachine<string, string>): string {
  const diagram = [
    '```mermaid',
    'stateDiagram-v2',
    `  [*] --> ${machine.initial.state}: ${machine.initial.event}`,
    ...machine.transitions.map((t) => `  ${t.from} --> ${t.to}: ${t.event}`),
    ...machine.terminal.map((s) => `  ${s} --> [*]`),
    '```',
  ];
  return [renderStateMachine(machine), '', ...diagram].join('\n');
}

/** The document with every machine's block replaced by the current rendering. */
export function renderStateMachineDocs(markdown: string): string {
  let out = markdown;
  for (const machine of STATE_MACHINES) {
    const open = `<!-- state-machine:${machine.name} -->`;
    const close = `<!-- /state-machine:${machine.name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`docs/state-machines.md has no ${open} ... ${close} block`);
    out = `${out.slice(0, start + open.length)}\n${block(machine)}\n${out.slice(end)}`;
  }
  return out;
}
