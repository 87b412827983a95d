import { parseExpression, referencedSteps } from './expression.parse';
import { isPlainRecord } from './workflow.fields';

// Checks that span steps (ids, needs, cycles, what `when` may read). They run
// on the raw document, next to the schema, so one report holds every
// problem of a file even when some steps are malformed.

export interface PathIssue {
  path: PropertyKey[];
  message: string;
}

interface RawStep {
  index: number;
  id: string;
  needs: Array<{ id: string; at: number }>;
  when?: string;
}

function rawSteps(steps: unknown): RawStep[] {
  if (!Array.isArray(steps)) return [];
  const out: RawStep[] = [];
  steps.forEach((s, index) => {
    if (!isPlainRecord(s) || typeof s.id !== 'string') return;
    const needs = Array.isArray(s.needs)
      ? s.needs.flatMap((n, at) => (typeof n === 'string' ? [{ id: n, at }] : []))
      : [];
    out.push({ index, id: s.id, needs, ...(typeof s.when === 'string' && { when: s.when }) });
  });
  return out;
}

/** Every step each step needs, directly or through others; safe on cyclic input. */
export function ancestorsOf(needs: ReadonlyMap<string, readonly string[]>): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const id of needs.keys()) {
    const seen = new Set<string>();
    const stack = [...(needs.get(id) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(needs.get(next) ?? []));
    }
    result.set(id, seen);
  }
  return result;
}

/** Each distinct cycle once, as the ids along it with the first repeated at the end. */
export function findCycles(needs: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'open');
    stack.push(id);
    for (const next of needs.get(id) ?? []) {
      if (!needs.has(next)) continue;
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        // The same cycle found from another entry point is the same problem.
        const key = [...cycle].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...cycle, next]);
        }
      } else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of needs.keys()) if (state.get(id) === undefined) visit(id);
  return cycles;
}

export function checkStepGraph(document: unknown): PathIssue[] {
  if (!isPlainRecord(document)) return [];
  const steps = rawSteps(document.steps);
  const issues: PathIssue[] = [];
  const firstIndex = new Map<string, number>();
  for (const s of steps) {
    const first = firstIndex.get(s.id);
    if (first === undefined) firstIndex.set(s.id, s.index);
    else issues.push({ path: ['steps', s.index, 'id'], message: `duplicate step id "${s.id}" (already used by steps[${first}])` });
  }

  const needs = new Map<string, string[]>();
  for (const s of steps) {
    const listed = new Set<string>();
    const valid: string[] = [];
    for (const n of s.needs) {
      const path = ['steps', s.index, 'needs', n.at];
      if (n.id === s.id) issues.push({ path, message: `step "${s.id}" cannot need itself` });
      else if (!firstIndex.has(n.id)) issues.push({ path, message: `unknown step "${n.id}"${suggest(n.id, [...firstIndex.keys()])}` });
      else if (listed.has(n.id)) issues.push({ path, message: `"${n.id}" is listed twice` });
      else valid.push(n.id);
      listed.add(n.id);
    }
    if (!needs.has(s.id)) needs.set(s.id, valid);
  }

  for (const cycle of findCycles(needs)) {
    issues.push({ path: ['steps', firstIndex.get(cycle[0]!)!, 'needs'], message: `cycle: ${cycle.join(' -> ')}` });
  }

  const ancestors = ancestorsOf(needs);
  for (const s of steps) {
    if (s.when === undefined) continue;
    let refs: string[];
    try {
      refs = referencedSteps(parseExpression(s.when));
    } catch {
      continue; // the schema reports the syntax error with its column
    }
    for (const ref of refs) {
      const path = ['steps', s.index, 'when'];
      if (!firstIndex.has(ref)) issues.push({ path, message: `reads outputs.${ref}, but there is no step "${ref}"${suggest(ref, [...firstIndex.keys()])}` });
      else if (!ancestors.get(s.id)?.has(ref)) {
        issues.push({ path, message: `reads outputs.${ref}, but "${s.id}" does not need "${ref}" (directly or through its needs), so it may not have run yet` });
      }
    }
  }

  const concurrency = document.concurrency;
  if (isPlainRecord(concurrency) && typeof concurrency.key === 'string') {
    try {
      if (referencedSteps(parseExpression(concurrency.key)).length > 0) {
        issues.push({ path: ['concurrency', 'key'], message: 'a concurrency key can read only inputs (no step has run when a run is admitted)' });
      }
    } catch {
      // reported by the schema
    }
  }
  return issues;
}

/** Steps in an order where every step comes after the steps it needs (declaration order breaks ties). */
export function topologicalOrder<S extends { id: string; needs: readonly string[] }>(steps: readonly S[]): S[] {
  const done = new Set<string>();
  const order: S[] = [];
  while (order.length < steps.length) {
    const next = steps.find((s) => !done.has(s.id) && s.needs.every((n) => done.has(n)));
    if (next === undefined) throw new Error('steps form a cycle');
    done.add(next.id);
    order.push(next);
  }
  return order;
}

function suggest(name: string, known: string[]): string {
  const close = known.find((k) => distance(k, name) <= Math.max(1, Math.floor(name.length / 4)));
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
