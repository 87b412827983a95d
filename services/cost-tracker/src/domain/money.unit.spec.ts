import { decimalOfNumber, formatDecimal, formatMicrosAsUsd, multiply, parseDecimal, roundHalfEven, shift, usdToMicros } from './money';

describe('money', () => {
  it('parses decimal text exactly, including exponents', () => {
    expect(formatDecimal(parseDecimal('0.000002'))).toBe('0.000002');
    expect(formatDecimal(parseDecimal('1e-7'))).toBe('0.0000001');
    expect(formatDecimal(parseDecimal('12.500'))).toBe('12.5');
    expect(formatDecimal(parseDecimal('3E2'))).toBe('300');
    expect(() => parseDecimal('1,5')).toThrow('not a decimal');
  });

  it('takes a number as the decimal it prints as, not its binary expansion', () => {
    expect(formatDecimal(decimalOfNumber(0.1))).toBe('0.1');
    expect(usdToMicros(0.1) + usdToMicros(0.2)).toBe(usdToMicros('0.3'));
  });

  it('rounds half to even exactly once', () => {
    expect(roundHalfEven(parseDecimal('2.5'))).toBe(2n);
    expect(roundHalfEven(parseDecimal('3.5'))).toBe(4n);
    expect(roundHalfEven(parseDecimal('2.5000001'))).toBe(3n);
    expect(roundHalfEven(parseDecimal('-2.5'))).toBe(-2n);
    expect(roundHalfEven(parseDecimal('-2.6'))).toBe(-3n);
    expect(roundHalfEven(parseDecimal('7'))).toBe(7n);
  });

  it('multiplies a fractional micro rate by a quantity without loss', () => {
    // 1,234 tokens at 0.0000015 USD = 1.5 micros each -> 1851 micros
    const amount = multiply(parseDecimal('1234'), shift(parseDecimal('0.0000015'), -6));
    expect(formatDecimal(amount)).toBe('1851');
    // 3 tokens at 0.5 micros -> 1.5 -> 2 (half to even)
    expect(roundHalfEven(multiply(parseDecimal('3'), parseDecimal('0.5')))).toBe(2n);
  });

  it('converts between USD and micros', () => {
    expect(usdToMicros('40')).toBe(40_000_000n);
    expect(usdToMicros(0.0000005)).toBe(0n);
    expect(usdToMicros(0.0000015)).toBe(2n);
    expect(formatMicrosAsUsd(1_234_567n)).toBe('1.234567');
    expect(formatMicrosAsUsd(5n)).toBe('0.000005');
    expect(formatMicrosAsUsd(-5n)).toBe('-0.000005');
  });
});
