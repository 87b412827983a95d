import { formatDuration, parseDuration, parseRate } from './index';

describe('durations and rates', () => {
  it('parses the units workflow files use', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });

  it('rejects anything else', () => {
    for (const bad of ['', '30', 's', '5 m', '5x', '-5m', '5m ago', '1e3s']) expect(parseDuration(bad)).toBeUndefined();
  });

  it('formats milliseconds back', () => {
    expect(formatDuration(1_800_000)).toBe('30m');
    expect(formatDuration(5_430_000)).toBe('1h30m30s');
    expect(formatDuration(0)).toBe('0s');
  });

  it('parses rate limits', () => {
    expect(parseRate('10/min')).toEqual({ count: 10, perMs: 60_000 });
    expect(parseRate('5/s')).toEqual({ count: 5, perMs: 1000 });
    expect(parseRate('100/hour')).toEqual({ count: 100, perMs: 3_600_000 });
    expect(parseRate('3/10s')).toEqual({ count: 3, perMs: 10_000 });
    expect(parseRate('0/min')).toBeUndefined();
    expect(parseRate('ten/min')).toBeUndefined();
  });
});
