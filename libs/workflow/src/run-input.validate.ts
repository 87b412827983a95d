import { ValidationError, type ValidationIssue } from '@steward/contracts';
import { evaluateExpression } from './expression.evaluate';
import { canonicalJson } from './workflow.hash';
import { showValue } from './workflow.parse';
import { matchesType, type WorkflowDefinition } from './workflow.schema';

// A run's input, checked against the workflow's `inputs:` declaration when
// it has one, at request time: a run that would fail on a bad input fails
// before anything is queued, with the path of the bad field.

/** The input with defaults applied, or ValidationError naming every bad field (`input.limit`). */
export function resolveRunInput(definition: Pick<WorkflowDefinition, 'inputs'>, input: Record<string, unknown>): Record<string, unknown> {
  const spec = definition.inputs;
  if (spec === undefined) return input;
  const issues: ValidationIssue[] = [];
  const resolved: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(spec, key)) issues.push({ path: `input.${key}`, message: `unknown input (expected one of ${Object.keys(spec).join(', ') || 'none'})` });
  }
  for (const [name, field] of Object.entries(spec)) {
    const value = Object.hasOwn(input, name) ? input[name] : undefined;
    if (value === undefined) {
      if (field.default !== undefined) resolved[name] = field.default;
      else if (field.required) issues.push({ path: `input.${name}`, message: `missing: expected ${field.type}` });
      continue;
    }
    if (!matchesType(field.type, value)) issues.push({ path: `input.${name}`, message: `expected ${field.type}, got ${showValue(value)}` });
    else if (field.enum !== undefined && !field.enum.some((e) => e === value)) {
      issues.push({ path: `input.${name}`, message: `expected one of ${field.enum.join(', ')}, got ${showValue(value)}` });
    } else resolved[name] = value;
  }
  if (issues.length > 0) throw new ValidationError(`invalid run input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  return resolved;
}

/**
 * The key runs are counted under for `concurrency: { limit, key }`: the
 * workflow id, plus the key expression's value over the inputs. A key that
 * cannot be evaluated counts under the workflow alone rather than escaping
 * the limit.
 */
export function concurrencyKeyOf(definition: Pick<WorkflowDefinition, 'id' | 'concurrency'>, input: Record<string, unknown>): string {
  const expr = definition.concurrency?.key;
  if (expr === undefined) return definition.id;
  const result = evaluateExpression(expr, { inputs: input, outputs: {} });
  return result.ok ? `${definition.id}:${canonicalJson(result.value)}` : definition.id;
}
