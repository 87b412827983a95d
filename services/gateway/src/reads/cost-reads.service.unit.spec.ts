import { usdOf, usdPerUnit } from './cost-reads.service';

describe('money in cost reads', () => {
  it('prints micro-USD as exact USD, at least to the cent', () => {
    expect(usdOf('40000000')).toBe('40.00');
    expect(usdOf('1234567')).toBe('1.234567');
    expect(usdOf('1500000')).toBe('1.50');
    expect(usdOf('7')).toBe('0.000007');
    expect(usdOf('-2500000')).toBe('-2.50');
    expect(usdOf('0')).toBe('0.00');
    expect(usdOf('123456789012345678901')).toBe('123456789012345.678901');
    expect(usdOf(null)).toBeNull();
  });

  it('prints a micro rate as USD per unit without rounding', () => {
    expect(usdPerUnit('1.5')).toBe('0.0000015');
    expect(usdPerUnit('100000')).toBe('0.1');
    expect(usdPerUnit('2000000')).toBe('2');
    expect(usdPerUnit('12345678.9')).toBe('12.3456789');
    expect(usdPerUnit('0')).toBe('0');
  });
});
