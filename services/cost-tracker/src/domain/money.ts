// Exact money. Amounts are integer micro-units of USD (bigint); rates and
// quantities are decimals held as (coefficient, scale) pairs so no float ever
// touches a price. Rounding happens once per cost record, half to even.

export const MICROS_PER_USD = 1_000_000n;

/** value = coef / 10^scale */
export interface Decimal {
  coef: bigint;
  scale: number;
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

export class MoneyFormatError extends Error {}

/** Parses a decimal string ("0.000002", "12", "1e-7"); throws MoneyFormatError when it is not one. */
export function parseDecimal(text: string): Decimal {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new MoneyFormatError(`"${text}" is not a decimal number`);
  const [, sign, int, frac = '', exp = '0'] = m;
  let coef = BigInt(`${int}${frac}`);
  let scale = frac.length - Number(exp);
  if (scale < 0) {
    coef *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return normalise({ coef: sign === '-' ? -coef : coef, scale });
}

/** A JS number as the decimal it prints as (shortest round-trip form): 0.1 is 1/10, not 0.1000000000000000055... */
export function decimalOfNumber(n: number): Decimal {
  if (!Number.isFinite(n)) throw new MoneyFormatError(`${n} is not a finite number`);
  return parseDecimal(String(n));
}

export function decimalOfBigint(n: bigint): Decimal {
  return { coef: n, scale: 0 };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return normalise({ coef: a.coef * b.coef, scale: a.scale + b.scale });
}

/** a / 10^digits, exact. */
export function shift(a: Decimal, digits: number): Decimal {
  return normalise({ coef: a.coef, scale: a.scale + digits });
}

/** Exact division by a power of two (2^k = 5^k / 10^k), e.g. KiB -> GiB. */
export function divideByPowerOfTwo(a: Decimal, k: number): Decimal {
  return normalise({ coef: a.coef * 5n ** BigInt(k), scale: a.scale + k });
}

/** Rounds to an integer, half to even (banker's rounding): no drift when many records round. */
export function roundHalfEven(d: Decimal): bigint {
  if (d.scale <= 0) return d.coef * 10n ** BigInt(-d.scale);
  const divisor = 10n ** BigInt(d.scale);
  const negative = d.coef < 0n;
  const abs = negative ? -d.coef : d.coef;
  let q = abs / divisor;
  const r = abs % divisor;
  const twice = r * 2n;
  if (twice > divisor || (twice === divisor && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

export function formatDecimal(d: Decimal): string {
  const n = normalise(d);
  const negative = n.coef < 0n;
  const digits = (negative ? -n.coef : n.coef).toString();
  if (n.scale <= 0) return `${negative ? '-' : ''}${digits}${'0'.repeat(-n.scale)}`;
  const padded = digits.padStart(n.scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -n.scale)}.${padded.slice(-n.scale)}`;
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const ac = a.coef * 10n ** BigInt(scale - a.scale);
  const bc = b.coef * 10n ** BigInt(scale - b.scale);
  return ac < bc ? -1 : ac > bc ? 1 : 0;
}

/** "40" or 40 (USD) -> 40000000n micros; more than six decimals are rounded half to even. */
export function usdToMicros(usd: string | number): bigint {
  const d = typeof usd === 'number' ? decimalOfNumber(usd) : parseDecimal(usd);
  return roundHalfEven(shift(d, -6));
}

/** 1234567n -> "1.234567" (USD, exact). */
export function formatMicrosAsUsd(micros: bigint): string {
  return formatDecimal({ coef: micros, scale: 6 });
}

/** Strips trailing zeros so equal values compare and print the same. */
function normalise(d: Decimal): Decimal {
  let { coef, scale } = d;
  if (coef === 0n) return { coef: 0n, scale: 0 };
  while (scale > 0 && coef % 10n === 0n) {
    coef /= 10n;
    scale -= 1;
  }
  return { coef, scale };
}
