import { genericSummary, redactData, summarise } from './timeline.summary';

describe('timeline summaries', () => {
  it('uses the summariser of known types', () => {
    expect(summarise('token.created', { tokenId: 'ab', name: 'ci', role: 'operator', salt: 's', hash: 'h', createdBy: 'x' })).toBe('token "ci" (operator) created');
    expect(summarise('command.rejected', { service: 'executor', command: 'cancel_run', reason: 'run r-1 already ended', code: 'illegal_state' })).toBe(
      'executor rejected cancel_run: run r-1 already ended',
    );
    expect(summarise('operator.action_recorded', { action: 'runs.cancel', service: 'executor', command: 'cancel_run', commandId: 'c', target: { run: 'r-1' }, reason: 'stuck' })).toBe(
      'runs.cancel requested (run=r-1): stuck',
    );
  });

  it('falls back to k=v with the telling fields first, truncated to about 100 characters', () => {
    expect(genericSummary({ attempt: 2, error: 'HTTP 503 from portal', step: 'fetch' })).toBe('error=HTTP 503 from portal, attempt=2, step=fetch');
    expect(genericSummary({ rows: [1, 2, 3], options: { a: 1 }, ok: true, none: null })).toBe('rows=[3], options={…}, ok=true, none=null');
    const long = genericSummary({ a: 'x'.repeat(80), b: 'y'.repeat(80), c: 'z'.repeat(80) });
    expect(long.length).toBe(100);
    expect(long.endsWith('…')).toBe(true);
  });

  it('never shows secrets, in the summary or in the data', () => {
    const data = {
      url: 'https://svc:hunter2@portal.example/prices.csv',
      apiKey: 'k-123',
      headers: { Authorization: 'Bearer abc.def' },
      token: 'stw_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      note: 'use stw_0123456789abcdef_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
      salt: 'c2FsdA==',
      hash: 'aGFzaA==',
      tokenId: '0123456789abcdef',
    };
    const text = `${summarise('collection.fetch_failed', data)} ${JSON.stringify(redactData(data))}`;
    for (const secret of ['hunter2', 'k-123', 'abc.def', 'AAAA', 'BBBB', 'c2FsdA', 'aGFzaA']) expect(text).not.toContain(secret);
    expect(redactData(data)).toMatchObject({ tokenId: '0123456789abcdef', url: 'https://svc:[REDACTED]@portal.example/prices.csv' });
  });
});
