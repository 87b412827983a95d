import { ExpressionSyntaxError, parseExpression, type Expression, type PathSegment } from './expression.parse';

// Evaluation over JSON data only: `inputs` and `outputs` are the whole
// world. Property reads are own-property reads on plain objects and arrays,
// so `constructor`, `__proto__` and friends are just missing keys (null).

export type ExpressionValue = null | boolean | number | string | ExpressionValue[] | { [key: string]: ExpressionValue };

export interface ExpressionScope {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** Type errors are results, not exceptions: a bad condition must not crash the decider. */
export type EvaluationResult = { ok: true; value: ExpressionValue } | { ok: false; error: string };

class EvaluationError extends Error {}

/** Guards `==` between two large documents; deeper values compare unequal. */
const MAX_EQUALITY_DEPTH = 64;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Narrows outside data to JSON: anything else (functions, class instances) reads as null. */
function asValue(x: unknown): ExpressionValue {
  if (x === null || x === undefined) return null;
  if (typeof x === 'boolean' || typeof x === 'string') return x;
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (Array.isArray(x) || isPlainObject(x)) return x as ExpressionValue;
  return null;
}

function typeName(v: ExpressionValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: ExpressionValue): string {
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function member(base: ExpressionValue, key: string | number): ExpressionValue {
  if (Array.isArray(base)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) return null;
    const i = key < 0 ? base.length + key : key;
    return i >= 0 && i < base.length ? asValue(base[i]) : null;
  }
  if (isPlainObject(base) && typeof key === 'string' && Object.hasOwn(base, key)) return asValue(base[key]);
  return null;
}

function equal(a: ExpressionValue, b: ExpressionValue, depth = 0): boolean {
  if (a === b) return true;
  if (depth > MAX_EQUALITY_DEPTH || typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]!, depth + 1));
  }
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(asValue(a[k]), asValue(b[k]), depth + 1));
}

/** `&&`, `||` and `!` take booleans; null (a missing path) counts as false. */
function truth(v: ExpressionValue, op: string): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  throw new EvaluationError(`${op} expects true or false, got ${typeName(v)} ${show(v)}`);
}

function order(op: '<' | '<=' | '>' | '>=', a: ExpressionValue, b: ExpressionValue): boolean {
  const comparable = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!comparable) throw new EvaluationError(`cannot compare ${typeName(a)} ${show(a)} ${op} ${typeName(b)} ${show(b)}`);
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

function text(fn: string, v: ExpressionValue): string {
  if (typeof v !== 'string') throw new EvaluationError(`${fn}() expects a string, got ${typeName(v)}`);
  return v;
}

function call(fn: string, args: ExpressionValue[]): ExpressionValue {
  const [a = null, b = null] = args;
  switch (fn) {
    case 'len':
      if (a === null) return 0;
      if (typeof a === 'string' || Array.isArray(a)) return a.length;
      if (typeof a === 'object') return Object.keys(a).length;
      throw new EvaluationError(`len() expects a string, array or object, got ${typeName(a)}`);
    case 'lower':
      return a === null ? null : text(fn, a).toLowerCase();
    case 'upper':
      return a === null ? null : text(fn, a).toUpperCase();
    case 'contains':
      if (a === null) return false;
      if (Array.isArray(a)) return a.some((x) => equal(asValue(x), b));
      return text(fn, a).includes(text(fn, b));
    case 'startsWith':
      return a === null ? false : text(fn, a).startsWith(text(fn, b));
    case 'endsWith':
      return a === null ? false : text(fn, a).endsWith(text(fn, b));
    default:
      throw new EvaluationError(`unknown function ${fn}()`);
  }
}

function evaluateNode(e: Expression, scope: ExpressionScope): ExpressionValue {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'array':
      return e.items.map((item) => evaluateNode(item, scope));
    case 'path':
      return e.segments.reduce<ExpressionValue>(
        (base, segment) => member(base, key(segment, scope)),
        asValue(e.root === 'inputs' ? scope.inputs : scope.outputs),
      );
    case 'not':
      return !truth(evaluateNode(e.operand, scope), '!');
    case 'logical': {
      const left = truth(evaluateNode(e.left, scope), e.op);
      if (e.op === '&&' ? !left : left) return left;
      return truth(evaluateNode(e.right, scope), e.op);
    }
    case 'compare': {
      const left = evaluateNode(e.left, scope);
      const right = evaluateNode(e.right, scope);
      switch (e.op) {
        case '==':
          return equal(left, right);
        case '!=':
          return !equal(left, right);
        case 'in':
          if (right === null) return false;
          if (!Array.isArray(right)) throw new EvaluationError(`'in' expects an array on its right, got ${typeName(right)}`);
          return right.some((x) => equal(asValue(x), left));
        default:
          return order(e.op, left, right);
      }
    }
    case 'call':
      return call(
        e.fn,
        e.args.map((a) => evaluateNode(a, scope)),
      );
  }
}

function key(segment: PathSegment, scope: ExpressionScope): string | number {
  if (segment.kind === 'name') return segment.name;
  const k = evaluateNode(segment.index, scope);
  if (typeof k === 'string' || typeof k === 'number') return k;
  throw new EvaluationError(`an index must be a number or a string, got ${typeName(k)}`);
}

/** Evaluates a parsed expression (or source text) against `{ inputs, outputs }`. */
export function evaluateExpression(expr: Expression | string, scope: ExpressionScope): EvaluationResult {
  try {
    const tree = typeof expr === 'string' ? parseExpression(expr) : expr;
    return { ok: true, value: evaluateNode(tree, scope) };
  } catch (err) {
    if (err instanceof EvaluationError) return { ok: false, error: err.message };
    if (err instanceof ExpressionSyntaxError) return { ok: false, error: err.message };
    throw err;
  }
}

/**
 * A `when` condition: true runs the step, false or null (a missing output)
 * skips it, anything else is an error the run reports rather than guesses.
 */
export function evaluateCondition(expr: Expression | string, scope: ExpressionScope): { ok: true; value: boolean } | { ok: false; error: string } {
  const result = evaluateExpression(expr, scope);
  if (!result.ok) return result;
  if (result.value === null || typeof result.value === 'boolean') return { ok: true, value: result.value === true };
  return { ok: false, error: `a condition must be true or false, got ${typeName(result.value)} ${show(result.value)}` };
}
