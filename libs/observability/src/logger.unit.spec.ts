import { Logger, REDACTED } from './index';

function capture(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, any>[] = [];
  const logger = new Logger({ service: 'ledger', level, write: (l) => lines.push(JSON.parse(l)) });
  return { logger, lines };
}

describe('JSON logger', () => {
  it('writes one JSON object a line with the standard fields', () => {
    const { logger, lines } = capture();
    logger.child({ workflow: 'supplier-prices' }).info('step done', { run_id: 'r1', status: 'succeeded', duration_ms: 12 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', service: 'ledger', msg: 'step done', workflow: 'supplier-prices', run_id: 'r1', status: 'succeeded', duration_ms: 12 });
    expect(new Date(lines[0]!.timestamp).toISOString()).toBe(lines[0]!.timestamp);
  });

  it('drops lines below the configured level', () => {
    const { logger, lines } = capture('info');
    logger.debug('noise');
    expect(lines).toHaveLength(0);
  });

  it('never logs secrets: secret-looking keys, URL credentials and bearer tokens', () => {
    const { logger, lines } = capture();
    logger.info('connecting', {
      headers: { Authorization: 'Bearer abc.def', 'x-api-key': 'k-123' },
      databaseUrl: 'postgres://svc:hunter2@db:5432/steward',
      token: 'stw_secret',
      nested: [{ password: 'p' }],
      err: new Error('login failed for postgres://svc:hunter2@db/x with Bearer zzz'),
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ['abc.def', 'k-123', 'hunter2', 'stw_secret', '"p"', 'zzz']) expect(text).not.toContain(secret);
    expect(lines[0]!.headers.Authorization).toBe(REDACTED);
    expect(lines[0]!.databaseUrl).toBe(`postgres://svc:${REDACTED}@db:5432/steward`);
    expect(lines[0]!.err).toMatchObject({ type: 'Error' });
  });
});
