import { parseDecimal, type Decimal } from './money';

/** A unit price as the pricing logic needs it. */
export interface PriceEntry {
  match: string;
  unit?: string;
  /** Micro-USD per unit, a decimal string (may be a fraction of a micro). */
  rateMicros: string;
  from: Date;
}

export interface PriceInForce {
  entry: PriceEntry;
  rate: Decimal;
}

/** Glob over resource names: `*` matches any run of characters (including `:`); everything else is literal. */
export function globMatches(pattern: string, resource: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === resource;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!resource.startsWith(first) || !resource.endsWith(last) || resource.length < first.length + last.length) return false;
  let at = first.length;
  const end = resource.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = resource.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** Higher is more specific: an exact name beats any glob; fewer wildcards beat more; then more literal characters. */
export function specificity(pattern: string): [number, number] {
  const wildcards = pattern.split('*').length - 1;
  return [-wildcards, pattern.length - wildcards];
}

function moreSpecific(a: string, b: string): number {
  const [aw, al] = specificity(a);
  const [bw, bl] = specificity(b);
  return aw !== bw ? aw - bw : al - bl;
}

/**
 * The price of `resource` at `at`: among the patterns that match it (and its
 * unit, when the price names one), the most specific; of that pattern's
 * prices, the one with the latest `from` not after `at`. A price that starts
 * later never applies to earlier usage, so history is never repriced.
 */
export function priceInForce(prices: readonly PriceEntry[], resource: string, unit: string, at: Date): PriceInForce | undefined {
  let best: PriceEntry | undefined;
  for (const p of prices) {
    if (p.from.getTime() > at.getTime()) continue;
    if (p.unit !== undefined && p.unit !== unit) continue;
    if (!globMatches(p.match, resource)) continue;
    if (best === undefined) {
      best = p;
      continue;
    }
    const cmp = moreSpecific(p.match, best.match);
    if (cmp > 0 || (cmp === 0 && p.from.getTime() > best.from.getTime())) best = p;
  }
  return best === undefined ? undefined : { entry: best, rate: rateOf(best) };
}

/**
 * `priceInForce` over one price list, for many lines: the prices that can
 * apply to a (resource, unit) are found once, most specific first and latest
 * start first within a pattern, so a line takes the first that started by
 * its usage time. The same answer as `priceInForce`, without a glob match
 * per price per line.
 */
export class PriceBook {
  private readonly candidates = new Map<string, PriceEntry[]>();

  constructor(readonly entries: readonly PriceEntry[]) {}

  inForce(resource: string, unit: string, at: Date): PriceInForce | undefined {
    const key = `${resource}\u0000${unit}`;
    let list = this.candidates.get(key);
    if (list === undefined) {
      // Stable sort: equal pattern and start keep list order, as priceInForce keeps the first it saw.
      list = this.entries
        .filter((p) => (p.unit === undefined || p.unit === unit) && globMatches(p.match, resource))
        .sort((a, b) => moreSpecific(b.match, a.match) || b.from.getTime() - a.from.getTime());
      if (this.candidates.size >= 10_000) this.candidates.clear(); // reported usage names resources freely
      this.candidates.set(key, list);
    }
    const t = at.getTime();
    for (const p of list) if (p.from.getTime() <= t) return { entry: p, rate: rateOf(p) };
    return undefined;
  }
}

const rates = new WeakMap<PriceEntry, Decimal>();

function rateOf(p: PriceEntry): Decimal {
  let rate = rates.get(p);
  if (rate === undefined) rates.set(p, (rate = parseDecimal(p.rateMicros)));
  return rate;
}
