import { fingerprint } from './fingerprint';
import { isInhibited, isSilenced, matches } from './matchers';
import { renderTemplate, templateVariables } from './template';
import { flushAfterChange, flushAfterFlush, groupKeyOf } from './grouping';
import { backoffMs, classifyAttempt } from './delivery.policy';

const now = new Date('2026-12-03T10:00:00Z');
const plus = (ms: number) => new Date(now.getTime() + ms);

describe('fingerprint', () => {
  it('does not depend on label order', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: '1', b: '2' })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('cannot be forged by moving text between keys and values', () => {
    expect(fingerprint({ a: 'b=c' })).not.toBe(fingerprint({ 'a=b': 'c' }));
    expect(fingerprint({ a: '1' })).not.toBe(fingerprint({ a: '1', b: '' }));
  });
});

describe('matchers, silences and inhibition', () => {
  it('matches equal, not-equal and anchored regex', () => {
    const labels = { workflow: 'supplier-prices', severity: 'page' };
    expect(matches({ name: 'workflow', value: 'supplier-prices' }, labels)).toBe(true);
    expect(matches({ name: 'workflow', value: 'supplier', isRegex: true }, labels)).toBe(false);
    expect(matches({ name: 'workflow', value: 'supplier-.*', isRegex: true }, labels)).toBe(true);
    expect(matches({ name: 'severity', value: 'page', isEqual: false }, labels)).toBe(false);
    expect(matches({ name: 'missing', value: '' }, labels)).toBe(true);
  });

  it('silences only between start and end', () => {
    const s = [{ matchers: [{ name: 'workflow', value: 'w' }], startsAt: plus(1000), endsAt: plus(2000) }];
    expect(isSilenced({ workflow: 'w' }, s, now)).toBe(false);
    expect(isSilenced({ workflow: 'w' }, s, plus(1500))).toBe(true);
    expect(isSilenced({ workflow: 'w' }, s, plus(2000))).toBe(false);
    expect(isSilenced({ workflow: 'x' }, s, plus(1500))).toBe(false);
  });

  it('inhibits a target while a matching source fires with equal labels, never itself', () => {
    const rule = { sourceMatch: [{ name: 'severity', value: 'page' }], targetMatch: [{ name: 'severity', value: 'ticket' }], equal: ['workflow'] };
    const source = { fingerprint: 'a', labels: { severity: 'page', workflow: 'w' } };
    const target = { fingerprint: 'b', labels: { severity: 'ticket', workflow: 'w' } };
    const elsewhere = { fingerprint: 'c', labels: { severity: 'ticket', workflow: 'other' } };
    expect(isInhibited(target, [source], [rule])).toBe(true);
    expect(isInhibited(elsewhere, [source], [rule])).toBe(false);
    expect(isInhibited(target, [], [rule])).toBe(false);
    const both = { sourceMatch: [], targetMatch: [], equal: ['workflow'] };
    expect(isInhibited(source, [source], [both])).toBe(false);
  });
});

describe('summary templates', () => {
  it('fills placeholders and keeps unknown ones visible', () => {
    expect(templateVariables('{{ workflow }} failed {{value}} times')).toEqual(['workflow', 'value']);
    expect(renderTemplate('{{ workflow }} failed {{value}} times ({{nope}})', { workflow: 'w', value: 3 })).toBe('w failed 3 times (<nope?>)');
  });
});

describe('grouping timers', () => {
  const t = { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 };

  it('keys a group by receiver and the sorted group-by values', () => {
    expect(groupKeyOf('ops', ['workflow', 'alertname'], { workflow: 'w', alertname: 'a', x: 'y' })).toBe('ops:{alertname="a",workflow="w"}');
    expect(groupKeyOf('ops', ['...'], { b: '2', a: '1' })).toBe('ops:{a="1",b="2"}');
  });

  it('waits group_wait for a new group, and group_interval after the last notification', () => {
    expect(flushAfterChange(undefined, now, t)).toEqual(plus(30_000));
    // A second change during group_wait keeps the first deadline.
    expect(flushAfterChange({ lastFlushedAt: null, nextFlushAt: plus(30_000) }, plus(10_000), t)).toEqual(plus(30_000));
    expect(flushAfterChange({ lastFlushedAt: now, nextFlushAt: plus(t.repeatIntervalMs) }, plus(60_000), t)).toEqual(plus(300_000));
    expect(flushAfterChange({ lastFlushedAt: now, nextFlushAt: null }, plus(400_000), t)).toEqual(plus(400_000));
  });

  it('repeats while something fires and sleeps otherwise', () => {
    expect(flushAfterFlush(now, true, t)).toEqual(plus(t.repeatIntervalMs));
    expect(flushAfterFlush(now, false, t)).toBeNull();
  });
});

describe('delivery policy', () => {
  it('retries on 429, 5xx and network errors, never on other 4xx', () => {
    expect(classifyAttempt({ status: 202 })).toBe('delivered');
    expect(classifyAttempt({ status: 429 })).toBe('retry');
    expect(classifyAttempt({ status: 503 })).toBe('retry');
    expect(classifyAttempt({ error: 'ECONNREFUSED' })).toBe('retry');
    expect(classifyAttempt({ status: 400 })).toBe('failed');
    expect(classifyAttempt({ status: 404 })).toBe('failed');
  });

  it('backs off exponentially up to the cap', () => {
    const p = { initialMs: 1000, maxMs: 10_000, maxAttempts: 8 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, p))).toEqual([1000, 2000, 4000, 8000, 10_000]);
  });
});
