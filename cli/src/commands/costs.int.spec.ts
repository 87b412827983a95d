import { steward, useFakeGateway } from '../fake-gateway.fixture';

const REPORT = {
  by: 'workflow',
  since: '30d',
  totalMicros: '3734575',
  totalUsd: '3.734575',
  items: [
    { key: 'prices', costMicros: '2000000', usd: '2.00', runs: 1, records: 1, usdPerRun: '2.00' },
    { key: 'nightly, eu', costMicros: '1734575', usd: '1.734575', runs: 2, records: 3, usdPerRun: '0.867288', budgetUsd: '10.00', budgetUsed: 0.1734 },
  ],
  performance: [{ workflow: 'nightly', week: '2026-W49', usd: '1.734575', usdPerSuccessfulRun: '1.734575', microsPerRow: '1734.575', successRate: 0.5, p50DurationMs: 1000 }],
};

describe('costs and reports commands', () => {
  const { gateway, env: currentEnv } = useFakeGateway();

  it('prints exact money, the total and weekly cost against performance', async () => {
    gateway.on('GET', '/costs/report', { status: 200, body: REPORT });
    const r = await steward(['costs', 'report', '--by', 'workflow', '--since', '7d'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(Object.fromEntries(gateway.requests[0]!.query)).toEqual({ by: 'workflow', since: '7d' });
    expect(r.stdout).toMatch(/nightly, eu\s+\$1\.734575\s+2\s+\$0\.867288\s+\$10\.00\s+17\.3%/);
    expect(r.stdout).toContain('total $3.734575 by workflow over 7d');
    expect(r.stdout).toMatch(/nightly\s+2026-W49\s+\$1\.734575\s+\$1\.734575\s+1734\.575\s+50%\s+1000ms/);
  });

  it('writes CSV with quoted fields and exact amounts', async () => {
    gateway.on('GET', '/costs/report', { status: 200, body: REPORT });
    const r = await steward(['costs', 'report', '--by', 'workflow', '--format', 'csv'], { env: currentEnv() });
    expect(r.stdout).toBe('key,usd,costMicros,runs,records,usdPerRun,budgetUsd,budgetUsed\nprices,2.00,2000000,1,1,2.00,,\n"nightly, eu",1.734575,1734575,2,3,0.867288,10.00,0.1734\n');
  });

  it('prints the gateway body with --format json', async () => {
    gateway.on('GET', '/costs/report', { status: 200, body: REPORT });
    const r = await steward(['costs', 'report', '--by', 'service', '--format', 'json'], { env: currentEnv() });
    expect(JSON.parse(r.stdout)).toEqual(REPORT);
  });

  it('refuses an unknown grouping or format before calling the gateway', async () => {
    const r = await steward(['costs', 'report', '--by', 'colour'], { env: currentEnv() });
    expect(r.code).toBe(2);
    const f = await steward(['costs', 'report', '--by', 'owner', '--format', 'xml'], { env: currentEnv() });
    expect(f.code).toBe(2);
    expect(gateway.requests).toHaveLength(0);
  });

  it('lists budgets with forecast range and alarmed thresholds, also as top-level budgets', async () => {
    gateway.on('GET', '/budgets', {
      status: 200,
      body: {
        items: [
          {
            scope: 'owner', id: 'data-team', monthlyUsd: '100.00', spentUsd: '55.00',
            forecast: { usd: '120.00', lowUsd: '101.50', highUsd: '138.50' },
            thresholds: [{ kind: 'forecast', percent: 100, state: 'ALARM' }, { kind: 'actual', percent: 50, state: 'ALARM' }, { kind: 'actual', percent: 80, state: 'OK' }],
          },
        ],
      },
    });
    const r = await steward(['budgets', 'list'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/owner\s+data-team\s+\$100\.00\s+\$55\.00\s+\$120\.00 \(\$101\.50\.\.\$138\.50\)\s+forecast 100% ALARM, actual 50% ALARM, actual 80%/);
  });

  it('lists prices with their start', async () => {
    gateway.on('GET', '/prices', { status: 200, body: { items: [{ match: 'api:openai:gpt-*:tokens', unit: 'tokens', usd: '0.0000015', effectiveFrom: '2026-12-15T00:00:00.000Z' }] } });
    const r = await steward(['costs', 'prices', 'list'], { env: currentEnv() });
    expect(r.stdout).toMatch(/api:openai:gpt-\*:tokens\s+tokens\s+\$0\.0000015\s+2026-12-15/);
  });

  it('renders ratios as percentages and durations, and says why a part is missing', async () => {
    gateway.on('GET', '/reports/ops', {
      status: 200,
      body: {
        since: '30d',
        uptime: { executor: { ratio: 0.75, samples: 4 }, scheduler: { ratio: 1, samples: 12 } },
        successRate: { ratio: 0.98, runs: 100 },
        mttr: { ms: 1_200_000, alerts: 2 },
        incidentsBySeverity: {},
        capacity: { default: { configuredWorkers: 4, recommendedReplicas: 2 } },
        missing: [{ part: 'mttd', service: 'alerter', reason: 'no alerter_alerts table: the alerter service never ran against this database' }],
      },
    });
    const r = await steward(['reports', 'ops'], { env: currentEnv() });
    expect(r.code).toBe(0);
    // Per-service figures read as a table, one row a service.
    expect(r.stdout).toContain('Uptime per service\n  NAME       RATIO  SAMPLES\n  executor   75%          4\n  scheduler  100%        12');
    expect(r.stdout).toContain('ratio: 98%');
    expect(r.stdout).toContain('ms:     20m');
    // An empty section says so; camelCase fields read as words.
    expect(r.stdout).toContain('Incidents by severity\n  none');
    expect(r.stdout).toContain('NAME     CONFIGURED WORKERS  RECOMMENDED REPLICAS');
    expect(r.stdout).toContain('MTTD (mean time to detect): needs the alerter service (no alerter_alerts table: the alerter service never ran against this database)');
  });
});
