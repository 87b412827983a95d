import { formatDecimal, multiply, roundHalfEven } from './money';
import { PriceBook, priceInForce, type PriceEntry } from './price.match';
import type { UsageLine } from './usage.extract';

export type RateSource = 'price' | 'reported' | 'unpriced';

export interface PricedLine {
  amountMicros: bigint;
  /** Micro-USD per unit, exact decimal string; null when the amount was reported or nothing was priced. */
  rateMicros: string | null;
  rateSource: RateSource;
  priceMatch: string | null;
  priceFrom: Date | null;
}

/**
 * Prices one usage line: a reported cost wins; otherwise quantity x the rate
 * in force at the usage time, rounded half to even to a micro ONCE for the
 * record (totals are sums of rounded records, so they reconcile exactly).
 * Unpriced usage is kept at zero so it shows up; `null` when the line is
 * only worth a record if priced.
 */
export function priceLine(line: UsageLine, prices: readonly PriceEntry[] | PriceBook): PricedLine | null {
  if (line.reportedMicros !== undefined) {
    return { amountMicros: line.reportedMicros, rateMicros: null, rateSource: 'reported', priceMatch: null, priceFrom: null };
  }
  const price = prices instanceof PriceBook ? prices.inForce(line.resource, line.unit, line.at) : priceInForce(prices, line.resource, line.unit, line.at);
  if (price === undefined) {
    return line.onlyIfPriced ? null : { amountMicros: 0n, rateMicros: null, rateSource: 'unpriced', priceMatch: null, priceFrom: null };
  }
  return {
    amountMicros: roundHalfEven(multiply(line.quantity, price.rate)),
    rateMicros: rateText(price.entry, price.rate),
    rateSource: 'price',
    priceMatch: price.entry.match,
    priceFrom: price.entry.from,
  };
}

const rateTexts = new WeakMap<PriceEntry, string>();

/** The rate as stored on records, formatted once per price rather than once per line. */
function rateText(entry: PriceEntry, rate: Parameters<typeof formatDecimal>[0]): string {
  let text = rateTexts.get(entry);
  if (text === undefined) rateTexts.set(entry, (text = formatDecimal(rate)));
  return text;
}
