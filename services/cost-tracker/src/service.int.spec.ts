import { migrate } from '@steward/event-store';
import { PresenceDirectory } from '@steward/messaging';
import { promtoolCheckMetrics } from '@steward/observability';
import { eventually, useTestEnvironment } from '@steward/testing';
import { COST_TRACKER_CAPABILITIES } from './app.module';
import { startCostTracker, TestClock } from './testing/cost.harness';

describe('cost tracker service', () => {
  const env = useTestEnvironment({ label: 'costsvc', setupDatabase: (url) => migrate(url) });

  it('serves health, readiness and metrics that pass promtool, with the capacity gauges', async () => {
    const h = await startCostTracker(env, new TestClock(new Date('2026-12-03T10:00:00Z')), { COST_CAPACITY_REFRESH_MS: '60000', COST_WORKER_CAPACITY: 'default=4' });
    try {
      const url = await h.app.getUrl();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      await eventually(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200));
      const text = await eventually(async () => {
        const t = await (await fetch(`${url}/metrics`)).text();
        expect(t).toContain('steward_cost_capacity_recommended_replicas{queue="default"');
        return t;
      });
      expect(text).toContain('# TYPE steward_cost_capacity_utilisation_ratio gauge');
      const lint = await promtoolCheckMetrics(text);
      if ('skipped' in lint) return;
      expect(lint.output).toBe('');
      expect(lint.ok).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('announces its commands in the presence directory while running, and leaves on shutdown', async () => {
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    const h = await startCostTracker(env, new TestClock(new Date('2026-12-03T10:00:00Z')));
    try {
      const [entry] = await directory.list();
      expect(entry).toMatchObject({ service: 'cost-tracker', capabilities: COST_TRACKER_CAPABILITIES });
      expect(entry!.capabilities).toEqual(expect.arrayContaining(['cmd:apply_prices', 'cmd:set_budget']));
    } finally {
      await h.close();
    }
    expect(await directory.isRunning('cost-tracker')).toBe(false);
  });
});
