import { ValidationError } from '@steward/contracts';

// The `when` and concurrency-key language: literals, `inputs.`/`outputs.`
// paths, comparisons, && || !, `in`, and a fixed list of pure functions.
// Hand-written tokenizer and recursive-descent parser: workflow files come
// from many teams, so nothing here may reach eval, Function, vm, globals or
// prototypes. Only the two roots and the listed functions can be named.

/** Bounds keep a hostile expression from costing more than a small constant. */
export const EXPRESSION_LIMITS = { maxLength: 2000, maxDepth: 32, maxNodes: 400 } as const;

export const EXPRESSION_FUNCTIONS = {
  len: 1,
  lower: 1,
  upper: 1,
  contains: 2,
  startsWith: 2,
  endsWith: 2,
} as const;
export type ExpressionFunction = keyof typeof EXPRESSION_FUNCTIONS;

export type ComparisonOperator = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in';
export type PathSegment = { kind: 'name'; name: string } | { kind: 'index'; index: Expression };

/** `pos` is the 0-based offset of the node's first character in the source. */
export type Expression =
  | { kind: 'literal'; value: null | boolean | number | string; pos: number }
  | { kind: 'array'; items: Expression[]; pos: number }
  | { kind: 'path'; root: 'inputs' | 'outputs'; segments: PathSegment[]; pos: number }
  | { kind: 'not'; operand: Expression; pos: number }
  | { kind: 'logical'; op: '&&' | '||'; left: Expression; right: Expression; pos: number }
  | { kind: 'compare'; op: ComparisonOperator; left: Expression; right: Expression; pos: number }
  | { kind: 'call'; fn: ExpressionFunction; args: Expression[]; pos: number };

/** A syntax error with the 1-based column where it was found. */
export class ExpressionSyntaxError extends ValidationError {
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {
    super(`${reason} at column ${column}`, [{ path: '(expression)', message: `${reason} at column ${column}` }], { column });
  }
}

type TokenKind = 'number' | 'string' | 'ident' | 'op' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
  value?: number | string;
  pos: number;
}

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ',', '.', '-'];
const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r' };
const IDENT_START = /[A-Za-z_]/;
// Hyphens are allowed inside names because step ids are slugs
// (`outputs.approve-large-change`); the language has no subtraction.
const IDENT_PART = /[A-Za-z0-9_-]/;

function fail(reason: string, pos: number): never {
  throw new ExpressionSyntaxError(reason, pos + 1);
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (c >= '0' && c <= '9') {
      const m = /^\d+(\.\d+)?/.exec(source.slice(i))!;
      i += m[0].length;
      if (i < source.length && IDENT_START.test(source[i]!)) fail(`unexpected '${source[i]}' after a number`, i);
      tokens.push({ kind: 'number', text: m[0], value: Number(m[0]), pos: start });
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) fail('unterminated string', start);
        const ch = source[i]!;
        if (ch === c) break;
        if (ch === '\\') {
          const esc = ESCAPES[source[i + 1] ?? ''];
          if (esc === undefined) fail(`unknown escape '\\${source[i + 1] ?? ''}'`, i);
          value += esc;
          i += 2;
        } else {
          value += ch;
          i++;
        }
      }
      i++;
      tokens.push({ kind: 'string', text: source.slice(start, i), value, pos: start });
    } else if (IDENT_START.test(c)) {
      while (i < source.length && IDENT_PART.test(source[i]!)) i++;
      tokens.push({ kind: 'ident', text: source.slice(start, i), pos: start });
    } else {
      const op = OPERATORS.find((o) => source.startsWith(o, i));
      if (op === undefined) fail(c === '=' ? "unexpected '=' (use == to compare)" : `unexpected '${c}'`, i);
      i += op.length;
      tokens.push({ kind: 'op', text: op, pos: start });
    }
  }
  tokens.push({ kind: 'end', text: 'end of expression', pos: source.length });
  return tokens;
}

class Parser {
  private at = 0;
  private depth = 0;
  private nodes = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Expression {
    const expr = this.or();
    const next = this.peek();
    if (next.kind !== 'end') fail(`unexpected '${next.text}'`, next.pos);
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.at]!;
  }

  private take(): Token {
    return this.tokens[this.at++]!;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private expect(text: string): Token {
    const t = this.take();
    if (t.kind !== 'op' || t.text !== text) fail(`expected '${text}' but found '${t.text}'`, t.pos);
    return t;
  }

  /** Every node and every nesting level is counted, so the bounds hold whatever the input. */
  private node<E extends Expression>(e: E): E {
    if (++this.nodes > EXPRESSION_LIMITS.maxNodes) fail(`expression has more than ${EXPRESSION_LIMITS.maxNodes} parts`, e.pos);
    return e;
  }

  private nested<T>(pos: number, parse: () => T): T {
    if (++this.depth > EXPRESSION_LIMITS.maxDepth) fail(`expression nests deeper than ${EXPRESSION_LIMITS.maxDepth} levels`, pos);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private or(): Expression {
    let left = this.and();
    while (this.isOp('||')) {
      const op = this.take();
      left = this.node({ kind: 'logical', op: '||', left, right: this.and(), pos: op.pos });
    }
    return left;
  }

  private and(): Expression {
    let left = this.comparison();
    while (this.isOp('&&')) {
      const op = this.take();
      left = this.node({ kind: 'logical', op: '&&', left, right: this.comparison(), pos: op.pos });
    }
    return left;
  }

  private comparison(): Expression {
    const left = this.unary();
    const t = this.peek();
    const op = t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text) ? t.text : t.kind === 'ident' && t.text === 'in' ? 'in' : undefined;
    if (op === undefined) return left;
    this.take();
    const right = this.unary();
    const after = this.peek();
    // `a < b < c` means something different in every language; refuse it.
    if ((after.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(after.text)) || (after.kind === 'ident' && after.text === 'in')) {
      fail(`comparisons cannot be chained; use parentheses and && ('${after.text}')`, after.pos);
    }
    return this.node({ kind: 'compare', op: op as ComparisonOperator, left, right, pos: t.pos });
  }

  private unary(): Expression {
    const t = this.peek();
    if (t.kind === 'op' && t.text === '!') {
      this.take();
      return this.nested(t.pos, () => this.node({ kind: 'not', operand: this.unary(), pos: t.pos }));
    }
    return this.primary();
  }

  private primary(): Expression {
    const t = this.take();
    switch (t.kind) {
      case 'number':
        return this.node({ kind: 'literal', value: t.value as number, pos: t.pos });
      case 'string':
        return this.node({ kind: 'literal', value: t.value as string, pos: t.pos });
      case 'end':
        return fail('unexpected end of expression', t.pos);
      case 'op':
        if (t.text === '(') {
          const inner = this.nested(t.pos, () => this.or());
          this.expect(')');
          return inner;
        }
        if (t.text === '[') return this.arrayLiteral(t);
        if (t.text === '-' && this.peek().kind === 'number') {
          const n = this.take();
          return this.node({ kind: 'literal', value: -(n.value as number), pos: t.pos });
        }
        return fail(`unexpected '${t.text}'`, t.pos);
      case 'ident':
        return this.identifier(t);
    }
  }

  /** Comma-separated expressions up to and including `close`. */
  private list(close: string): Expression[] {
    const items: Expression[] = [];
    if (this.isOp(close)) {
      this.take();
      return items;
    }
    for (;;) {
      items.push(this.or());
      if (!this.isOp(',')) break;
      this.take();
    }
    this.expect(close);
    return items;
  }

  private arrayLiteral(open: Token): Expression {
    return this.nested(open.pos, () => {
      const items = this.list(']');
      return this.node({ kind: 'array', items, pos: open.pos });
    });
  }

  private identifier(t: Token): Expression {
    if (t.text === 'true' || t.text === 'false') return this.node({ kind: 'literal', value: t.text === 'true', pos: t.pos });
    if (t.text === 'null') return this.node({ kind: 'literal', value: null, pos: t.pos });
    if (t.text === 'inputs' || t.text === 'outputs') return this.path(t.text, t.pos);
    if (this.isOp('(')) {
      if (!Object.hasOwn(EXPRESSION_FUNCTIONS, t.text)) {
        fail(`unknown function '${t.text}' (available: ${Object.keys(EXPRESSION_FUNCTIONS).join(', ')})`, t.pos);
      }
      return this.call(t.text as ExpressionFunction, t.pos);
    }
    return fail(`unknown name '${t.text}' (paths start with inputs. or outputs.)`, t.pos);
  }

  private call(fn: ExpressionFunction, pos: number): Expression {
    this.expect('(');
    return this.nested(pos, () => {
      const args = this.list(')');
      const arity = EXPRESSION_FUNCTIONS[fn];
      if (args.length !== arity) fail(`${fn}() takes ${arity} argument${arity === 1 ? '' : 's'}, got ${args.length}`, pos);
      return this.node({ kind: 'call', fn, args, pos });
    });
  }

  private path(root: 'inputs' | 'outputs', pos: number): Expression {
    const segments: PathSegment[] = [];
    for (;;) {
      if (this.isOp('.')) {
        this.take();
        const name = this.take();
        if (name.kind !== 'ident') fail(`expected a name after '.' but found '${name.text}'`, name.pos);
        segments.push({ kind: 'name', name: name.text });
      } else if (this.isOp('[')) {
        const open = this.take();
        const index = this.nested(open.pos, () => this.or());
        this.expect(']');
        segments.push({ kind: 'index', index });
      } else break;
      if (segments.length > EXPRESSION_LIMITS.maxDepth) fail(`path is longer than ${EXPRESSION_LIMITS.maxDepth} parts`, pos);
    }
    if (this.isOp('(')) fail('only the listed functions can be called', this.peek().pos);
    return this.node({ kind: 'path', root, segments, pos });
  }
}

/** Parses an expression or throws ExpressionSyntaxError naming the column. */
export function parseExpression(source: string): Expression {
  if (typeof source !== 'string') throw new ExpressionSyntaxError('expression must be a string', 1);
  if (source.length > EXPRESSION_LIMITS.maxLength) {
    throw new ExpressionSyntaxError(`expression is longer than ${EXPRESSION_LIMITS.maxLength} characters`, EXPRESSION_LIMITS.maxLength + 1);
  }
  if (source.trim() === '') throw new ExpressionSyntaxError('expression is empty', 1);
  return new Parser(tokenize(source)).parse();
}

/**
 * The step ids an expression reads through a literal `outputs.<id>` or
 * `outputs['<id>']`, so a definition can be checked for reads of steps that
 * cannot have run yet.
 */
export function referencedSteps(expr: Expression): string[] {
  const found = new Set<string>();
  const visit = (e: Expression): void => {
    switch (e.kind) {
      case 'literal':
        return;
      case 'array':
        return e.items.forEach(visit);
      case 'path': {
        const first = e.segments[0];
        if (e.root === 'outputs' && first) {
          if (first.kind === 'name') found.add(first.name);
          else if (first.index.kind === 'literal' && typeof first.index.value === 'string') found.add(first.index.value);
        }
        for (const s of e.segments) if (s.kind === 'index') visit(s.index);
        return;
      }
      case 'not':
        return visit(e.operand);
      case 'logical':
      case 'compare':
        visit(e.left);
        return visit(e.right);
      case 'call':
        return e.args.forEach(visit);
    }
  };
  visit(expr);
  return [...found];
}
