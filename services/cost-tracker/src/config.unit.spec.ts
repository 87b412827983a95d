import { loadConfig, parseThresholds } from './config';

const base = { DATABASE_URL: 'postgres://x@127.0.0.1/db' };

describe('cost tracker config', () => {
  it('defaults to UTC months, 50/80/100 % actual and 100 % forecast thresholds', () => {
    const c = loadConfig(base);
    expect(c.PORT).toBe(8087);
    expect(c.COST_TIMEZONE).toBe('UTC');
    expect(c.COST_DEFAULT_THRESHOLDS).toEqual([
      { kind: 'forecast', percent: 100 },
      { kind: 'actual', percent: 50 },
      { kind: 'actual', percent: 80 },
      { kind: 'actual', percent: 100 },
    ]);
  });

  it('parses capacity and absolute thresholds', () => {
    const c = loadConfig({ ...base, COST_WORKER_CAPACITY: 'default=4,gpu=1', COST_DEFAULT_THRESHOLDS: 'actual:$25.5,forecast:90%' });
    expect([...c.COST_WORKER_CAPACITY]).toEqual([['default', 4], ['gpu', 1]]);
    expect(c.COST_DEFAULT_THRESHOLDS).toEqual([{ kind: 'actual', amountMicros: '25500000' }, { kind: 'forecast', percent: 90 }]);
    expect(parseThresholds('actual:$0.000001')).toEqual([{ kind: 'actual', amountMicros: '1' }]);
  });

  it('names every bad variable', () => {
    expect(() => loadConfig({ ...base, COST_TIMEZONE: 'Mars/Olympus', COST_WORKER_CAPACITY: 'default', COST_DEFAULT_THRESHOLDS: 'half' })).toThrow(
      /COST_TIMEZONE[\s\S]*COST_DEFAULT_THRESHOLDS[\s\S]*COST_WORKER_CAPACITY|COST_TIMEZONE[\s\S]*COST_WORKER_CAPACITY/,
    );
  });
});
