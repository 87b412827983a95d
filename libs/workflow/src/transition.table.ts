import { IllegalStateError } from '@steward/contracts';

// A state machine as data: the run and step lifecycles are tables that code,
// tests and docs/state-machines.md all read, so the documented lifecycle is
// the one that is enforced.

export interface Transition<S extends string, E extends string> {
  from: S;
  event: E;
  to: S;
  /** Why this transition exists, shown in the docs. */
  note: string;
}

export interface StateMachine<S extends string, E extends string> {
  name: string;
  states: readonly S[];
  /** The state a new instance starts in, and the event that creates it. */
  initial: { state: S; event: string };
  /** States the owner treats as finished; any transitions out of them are listed explicitly. */
  terminal: readonly S[];
  transitions: readonly Transition<S, E>[];
}

export function defineStateMachine<S extends string, E extends string>(machine: StateMachine<S, E>): StateMachine<S, E> {
  const seen = new Set<string>();
  for (const t of machine.transitions) {
    if (!machine.states.includes(t.from) || !machine.states.includes(t.to)) {
      throw new Error(`${machine.name}: transition ${t.from} -${t.event}-> ${t.to} uses an unknown state`);
    }
    const key = `${t.from}|${t.event}`;
    if (seen.has(key)) throw new Error(`${machine.name}: two transitions from ${t.from} on ${t.event}`);
    seen.add(key);
  }
  return machine;
}

export function eventsOf<S extends string, E extends string>(machine: StateMachine<S, E>): E[] {
  return [...new Set(machine.transitions.map((t) => t.event))];
}

export function allowedEvents<S extends string, E extends string>(machine: StateMachine<S, E>, from: S): E[] {
  return machine.transitions.filter((t) => t.from === from).map((t) => t.event);
}

export function canTransition<S extends string, E extends string>(machine: StateMachine<S, E>, from: S, event: string): boolean {
  return machine.transitions.some((t) => t.from === from && t.event === event);
}

/**
 * The next state, or an IllegalStateError naming the machine, the state, the
 * event and what would have been allowed. Never a silent overwrite.
 */
export function transition<S extends string, E extends string>(
  machine: StateMachine<S, E>,
  from: S,
  event: string,
  context: Record<string, unknown> = {},
): S {
  const found = machine.transitions.find((t) => t.from === from && t.event === event);
  if (found) return found.to;
  const allowed = allowedEvents(machine, from);
  throw new IllegalStateError(
    `${machine.name}: ${event} is not allowed in state ${from} (allowed: ${allowed.length ? allowed.join(', ') : 'none, it is terminal'})`,
    { ...context, machine: machine.name, from, event, allowed },
  );
}

/** The markdown table docs/state-machines.md embeds; a unit test keeps the two equal. */
export function renderStateMachine<S extends string, E extends string>(machine: StateMachine<S, E>): string {
  const lines = [
    `States: ${machine.states.map((s) => `\`${s}\``).join(', ')}.`,
    `Starts in \`${machine.initial.state}\` on \`${machine.initial.event}\`. Terminal: ${machine.terminal.map((s) => `\`${s}\``).join(', ')}.`,
    '',
    '| from | event | to | why |',
    '| --- | --- | --- | --- |',
    ...machine.transitions.map((t) => `| \`${t.from}\` | \`${t.event}\` | \`${t.to}\` | ${t.note} |`),
  ];
  return lines.join('\n');
}
