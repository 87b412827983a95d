import { parseDocument } from 'yaml';
import { z } from 'zod';
import { issuesOf, ValidationError, type UnitPrice } from '@steward/contracts';
import { zonedMidnight } from '../domain/month.period';
import { formatDecimal, parseDecimal, shift } from '../domain/money';

/**
 * The prices file:
 *
 *   prices:
 *     - match: cpu-seconds                 # resource name or glob (`*` = anything)
 *       usd: 0.00004                       # USD per unit, exact decimal
 *       from: 2026-12-01                   # local midnight in COST_TIMEZONE, or a datetime with offset
 *     - match: "api:openai:gpt-*:tokens"
 *       unit: tokens                       # optional: only usage in this unit
 *       usd: 0.000002
 *       from: 2026-12-15T00:00:00+00:00
 *
 * Parsed with YAML's failsafe schema, so every scalar stays the text that was
 * written: `0.1` is one tenth, never the float nearest to it.
 */
const usd = z.string().regex(/^\d{1,12}(\.\d{1,18})?$/, 'expected a non-negative decimal number of USD per unit, e.g. 0.000002');
const from = z.union([z.iso.date(), z.iso.datetime({ offset: true })], { error: 'expected a date (YYYY-MM-DD) or a datetime with offset' });
const PriceLine = z.strictObject({
  match: z
    .string()
    .min(1)
    .max(300)
    .regex(/^[A-Za-z0-9_.:*\/-]+$/, 'expected a resource name or glob of letters, digits, _ . : / - and *'),
  unit: z.string().min(1).max(50).optional(),
  usd,
  from,
  description: z.string().max(500).optional(),
});
const PricesFile = z.strictObject({ prices: z.array(PriceLine).min(1, 'list at least one price').max(1000) });

export function parsePricesFile(text: string, timeZone: string): UnitPrice[] {
  const doc = parseDocument(text, { schema: 'failsafe', prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}:${e.linePos[0].col}` : '(root)', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') }));
    throw new ValidationError(`prices file is not valid YAML: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  const parsed = PricesFile.safeParse(doc.toJS());
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    throw new ValidationError(`invalid prices file: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  const seen = new Map<string, number>();
  return parsed.data.prices.map((p, i) => {
    const start = /^\d{4}-\d{2}-\d{2}$/.test(p.from) ? zonedMidnight(Number(p.from.slice(0, 4)), Number(p.from.slice(5, 7)), Number(p.from.slice(8, 10)), timeZone) : new Date(p.from);
    const key = `${p.match}|${p.unit ?? ''}|${start.toISOString()}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new ValidationError(`invalid prices file: prices[${i}] repeats prices[${earlier}] (same match, unit and from)`, [{ path: `prices[${i}]`, message: `same match, unit and from as prices[${earlier}]` }]);
    }
    seen.set(key, i);
    return {
      match: p.match,
      ...(p.unit !== undefined && { unit: p.unit }),
      rateMicros: formatDecimal(shift(parseDecimal(p.usd), -6)),
      from: start.toISOString(),
      ...(p.description !== undefined && { description: p.description }),
    };
  });
}
