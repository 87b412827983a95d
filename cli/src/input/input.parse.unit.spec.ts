import { ValidationError } from '@steward/contracts';
import { formatDuration, parseDuration } from './duration.parse';
import { exactlyOne, parseMatcher, parseTimeArg, parseTransformRef } from './input.parse';

describe('durations', () => {
  it('parses 30s, 5m, 1h, 30d', () => {
    expect(parseDuration('30s', '--x')).toBe(30_000);
    expect(parseDuration('5m', '--x')).toBe(300_000);
    expect(parseDuration('1h', '--x')).toBe(3_600_000);
    expect(parseDuration('30d', '--x')).toBe(30 * 86_400_000);
  });

  it.each(['', '0s', '5', '5x', '1h30m', '-1h', '1.5h'])('rejects %p naming the flag', (text) => {
    expect(() => parseDuration(text, '--since')).toThrow(ValidationError);
    expect(() => parseDuration(text, '--since')).toThrow(/--since must be a duration like 30s/);
  });

  it('formats with two units at most', () => {
    expect(formatDuration(4_000)).toBe('4s');
    expect(formatDuration(125_000)).toBe('2m 5s');
    expect(formatDuration(3_780_000)).toBe('1h 3m');
    expect(formatDuration(2 * 86_400_000 + 4 * 3_600_000 + 5_000)).toBe('2d 4h');
    expect(formatDuration(-60_000)).toBe('-1m 0s');
  });
});

describe('local input checks', () => {
  it('accepts NAME@VERSION transforms only', () => {
    expect(parseTransformRef('supplier-prices@2')).toBe('supplier-prices@2');
    expect(() => parseTransformRef('supplier-prices')).toThrow(/--transform must look like NAME@VERSION/);
    expect(() => parseTransformRef('@2')).toThrow(ValidationError);
  });

  it('splits matchers at the first =', () => {
    expect(parseMatcher('query=a=b')).toEqual({ name: 'query', value: 'a=b' });
    expect(() => parseMatcher('workflow')).toThrow(/--match must look like name=value/);
    expect(() => parseMatcher('=x')).toThrow(ValidationError);
  });

  it('reads times as ISO or as a duration ago', () => {
    const now = new Date('2026-05-01T12:00:00Z');
    expect(parseTimeArg('2026-04-30T00:00:00Z', '--from', now)).toBe('2026-04-30T00:00:00.000Z');
    expect(parseTimeArg('2h', '--from', now)).toBe('2026-05-01T10:00:00.000Z');
    expect(() => parseTimeArg('yesterday', '--from', now)).toThrow(/--from must be an ISO time/);
  });

  it('wants exactly one of exclusive options', () => {
    const names = { source: '--source', workflow: '--workflow' };
    expect(exactlyOne({ source: 's' }, names)).toBe('source');
    expect(() => exactlyOne({}, names)).toThrow('give exactly one of --source, --workflow');
    expect(() => exactlyOne({ source: 's', workflow: 'w' }, names)).toThrow('not --source and --workflow');
  });
});
