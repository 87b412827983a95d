import { evaluateCondition, evaluateExpression, EXPRESSION_LIMITS, ExpressionSyntaxError, parseExpression, referencedSteps } from './index';

const scope = {
  inputs: { region: 'EU', limit: 5, tags: ['a', 'b'], flag: true },
  outputs: {
    normalize: { maxChangePct: 42, rows: [{ price: 9.5 }, { price: 12 }], supplier: 'ACME Corp' },
    'approve-large-change': { approved: true },
  },
};

const value = (source: string) => {
  const r = evaluateExpression(source, scope);
  if (!r.ok) throw new Error(`unexpected error: ${r.error}`);
  return r.value;
};
const error = (source: string) => {
  const r = evaluateExpression(source, scope);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
};
const syntax = (source: string) => {
  try {
    parseExpression(source);
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionSyntaxError);
    return (err as ExpressionSyntaxError).message;
  }
  throw new Error(`"${source.slice(0, 40)}" parsed`);
};

describe('expression language', () => {
  it('reads literals and paths into inputs and outputs', () => {
    expect(value('42')).toBe(42);
    expect(value('-1.5')).toBe(-1.5);
    expect(value('"it\\"s"')).toBe('it"s');
    expect(value("'x'")).toBe('x');
    expect(value('true')).toBe(true);
    expect(value('null')).toBeNull();
    expect(value('inputs.region')).toBe('EU');
    expect(value('outputs.normalize.rows[1].price')).toBe(12);
    expect(value('outputs.normalize.rows[-1].price')).toBe(12);
    expect(value('outputs["approve-large-change"].approved')).toBe(true);
    expect(value('outputs.approve-large-change.approved')).toBe(true);
    expect(value('outputs.normalize.rows[inputs.limit]')).toBeNull();
  });

  it('evaluates unknown paths to null', () => {
    expect(value('outputs.nope.x.y')).toBeNull();
    expect(value('inputs.tags[9]')).toBeNull();
    expect(value('inputs.region.length')).toBeNull();
  });

  it('compares, combines and negates', () => {
    expect(value('outputs.normalize.maxChangePct > 30')).toBe(true);
    expect(value('outputs.normalize.maxChangePct <= 30')).toBe(false);
    expect(value('inputs.region == "EU" && inputs.limit >= 5')).toBe(true);
    expect(value('inputs.region != "EU" || !inputs.flag')).toBe(false);
    expect(value('!(inputs.limit < 3)')).toBe(true);
    expect(value('"b" in inputs.tags')).toBe(true);
    expect(value('inputs.region in ["US", "EU"]')).toBe(true);
    expect(value('"x" in outputs.missing')).toBe(false);
    expect(value('inputs.tags == ["a", "b"]')).toBe(true);
    expect(value('"abc" < "abd"')).toBe(true);
  });

  it('short-circuits so the right side of a decided && or || is not evaluated', () => {
    expect(value('false && (1 < "x")')).toBe(false);
    expect(value('true || (1 < "x")')).toBe(true);
  });

  it('calls the pure functions', () => {
    expect(value('len(inputs.tags)')).toBe(2);
    expect(value('len(outputs.normalize.supplier)')).toBe(9);
    expect(value('len(outputs.none)')).toBe(0);
    expect(value('lower(outputs.normalize.supplier)')).toBe('acme corp');
    expect(value('upper("eu") == inputs.region')).toBe(true);
    expect(value('contains(outputs.normalize.supplier, "ACME")')).toBe(true);
    expect(value('contains(inputs.tags, "c")')).toBe(false);
    expect(value('startsWith(outputs.normalize.supplier, "AC") && endsWith(outputs.normalize.supplier, "Corp")')).toBe(true);
  });

  it('reports type errors as results instead of throwing', () => {
    expect(error('outputs.normalize.supplier > 3')).toBe('cannot compare string "ACME Corp" > number 3');
    expect(error('outputs.missing > 30')).toBe('cannot compare null null > number 30');
    expect(error('inputs.limit && true')).toMatch(/&& expects true or false, got number 5/);
    expect(error('"a" in inputs.region')).toMatch(/'in' expects an array/);
    expect(error('lower(inputs.limit)')).toMatch(/lower\(\) expects a string/);
    expect(error('inputs.tags[inputs.flag]')).toMatch(/index must be a number or a string/);
  });

  it('treats a condition of false or null as "skip" and anything else but true as an error', () => {
    expect(evaluateCondition('outputs.nope', scope)).toEqual({ ok: true, value: false });
    expect(evaluateCondition('inputs.flag', scope)).toEqual({ ok: true, value: true });
    expect(evaluateCondition('inputs.limit', scope)).toEqual({ ok: false, error: 'a condition must be true or false, got number 5' });
  });

  it('names the column of a syntax error', () => {
    expect(syntax('outputs.normalize.maxChangePct > ')).toBe('unexpected end of expression at column 34');
    expect(syntax('inputs.a = 1')).toBe("unexpected '=' (use == to compare) at column 10");
    expect(syntax('(inputs.a == 1')).toBe("expected ')' but found 'end of expression' at column 15");
    expect(syntax('inputs.a == 1)')).toBe("unexpected ')' at column 14");
    expect(syntax('1 < 2 < 3')).toMatch(/cannot be chained.*column 7/);
    expect(syntax("'open")).toBe('unterminated string at column 1');
    expect(syntax('len(1, 2)')).toBe('len() takes 1 argument, got 2 at column 1');
    expect(syntax('5m > 3')).toMatch(/after a number/);
    expect(syntax('   ')).toBe('expression is empty at column 1');
  });

  it('lists the steps an expression reads', () => {
    expect(referencedSteps(parseExpression('outputs.a.x > 1 && outputs["b-c"].y && inputs.z && len(outputs.d)'))).toEqual(['a', 'b-c', 'd']);
  });
});

describe('expression language against hostile input', () => {
  it('cannot name anything but inputs, outputs and the listed functions', () => {
    expect(syntax('constructor')).toMatch(/unknown name 'constructor'/);
    expect(syntax('__proto__')).toMatch(/unknown name '__proto__'/);
    expect(syntax('process.exit()')).toMatch(/unknown name 'process'/);
    expect(syntax('globalThis')).toMatch(/unknown name/);
    expect(syntax('eval("1")')).toMatch(/unknown function 'eval'/);
    expect(syntax('require("fs")')).toMatch(/unknown function 'require'/);
    expect(syntax('inputs.x.constructor("return process")()')).toMatch(/only the listed functions can be called/);
    expect(syntax('toString()')).toMatch(/unknown function 'toString'/);
    expect(syntax('hasOwnProperty(inputs, "x")')).toMatch(/unknown function/);
    expect(syntax('`${process}`')).toMatch(/unexpected '`'/);
    expect(syntax('inputs; process.exit(1)')).toMatch(/unexpected ';'/);
  });

  it('reads prototype members as missing data, never as functions or objects', () => {
    for (const source of [
      'inputs.constructor',
      'inputs.__proto__',
      'inputs["__proto__"]',
      'inputs.constructor.constructor',
      'inputs.tags.constructor',
      'inputs.tags.push',
      'inputs.region.length',
      'outputs.hasOwnProperty',
      'inputs["toString"]',
    ]) {
      expect(evaluateExpression(source, scope)).toEqual({ ok: true, value: null });
    }
    const poisoned = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(evaluateExpression('inputs.__proto__.polluted', { inputs: poisoned, outputs: {} })).toEqual({ ok: true, value: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads non-JSON values handed in (functions, class instances) as null', () => {
    const odd = { inputs: { f: () => 1, d: new Date(0), m: new Map([['a', 1]]) }, outputs: {} };
    expect(evaluateExpression('inputs.f', odd)).toEqual({ ok: true, value: null });
    expect(evaluateExpression('inputs.d', odd)).toEqual({ ok: true, value: null });
    expect(evaluateExpression('inputs.m.a', odd)).toEqual({ ok: true, value: null });
  });

  it('refuses very deep nesting, very long and very large expressions before evaluating anything', () => {
    expect(syntax(`${'('.repeat(500)}1${')'.repeat(500)}`)).toMatch(/nests deeper than 32 levels/);
    expect(syntax(`${'!'.repeat(100)}true`)).toMatch(/nests deeper/);
    expect(syntax(`inputs${'[0]'.repeat(40)}`)).toMatch(/nests deeper|longer than/);
    expect(syntax('1 == 1 && '.repeat(300) + 'true')).toMatch(new RegExp(`longer than ${EXPRESSION_LIMITS.maxLength}`));
    expect(syntax(Array.from({ length: 300 }, () => 'true').join('&&'))).toMatch(/more than 400 parts/);
    expect(syntax('['.repeat(1000))).toMatch(/nests deeper/);
  });

  it('evaluates a maximal legal expression quickly', () => {
    const source = Array.from({ length: 60 }, (_, i) => `inputs.tags[${i % 2}] == "a"`).join(' || ');
    const start = process.hrtime.bigint();
    expect(value(source)).toBe(true);
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(50);
  });
});
