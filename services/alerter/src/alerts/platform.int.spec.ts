import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { migrate } from '@steward/event-store';
import { PresenceReporter } from '@steward/messaging';
import { useTestEnvironment } from '@steward/testing';
import { startAlerter, type AlerterHarness } from '../testing/alerter.harness';

describe('alerter: platform signals', () => {
  const env = useTestEnvironment({ label: 'alrtplat', setupDatabase: (url) => migrate(url) });
  let al: AlerterHarness;

  beforeAll(async () => {
    al = await startAlerter(env, { env: { ALERTER_CONSUMER_LAG_THRESHOLD: '5', ALERTER_CONSUMER_LAG_FOR_MS: '0' } });
    env.track({ end: () => al.close() });
  });

  const states = async (rule: string) => (await al.alerts({ rule })).map((a) => [a.labels.service ?? a.labels.consumer, a.state]);

  it('raises service_down for a service that stopped reporting, and resolves when it is back', async () => {
    const collector = () => new PresenceReporter(env.nats.nc, env.nats.subjects, { service: 'collector', instance: 'c-1', capabilities: [], intervalMs: 200 });
    const first = collector();
    await first.start();
    await al.ticker.evaluate();
    expect(await states('service_down')).toEqual([]);
    await first.stop();
    await al.ticker.evaluate();
    const [down] = await al.alerts({ rule: 'service_down' });
    expect(down).toMatchObject({ state: 'firing', severity: 'page', runbook: 'docs/runbooks/service-down.md' });
    expect(down!.summary).toContain('the collector service stopped reporting ready');
    const again = collector();
    await again.start();
    await al.ticker.evaluate();
    expect(await states('service_down')).toEqual([['collector', 'resolved']]);
    await again.stop();
  });

  it('raises consumer_lag for a durable consumer whose backlog passes the threshold', async () => {
    const jsm = await jetstreamManager(env.nats.nc);
    await jsm.consumers.add(env.nats.subjects.stream('EVENTS'), { durable_name: 'laggard', ack_policy: AckPolicy.Explicit, filter_subject: env.nats.subjects.events() });
    await al.applyWorkflow('lagging');
    for (let i = 0; i < 6; i++) await al.run('lagging', 'succeeded');
    await al.settle();
    await al.ticker.evaluate();
    const lag = await al.alerts({ rule: 'consumer_lag' });
    expect(lag.map((a) => [a.labels.consumer, a.state])).toEqual([['laggard', 'firing']]);
    expect(lag[0]!.summary).toMatch(/^consumer laggard on EVENTS has \d+ messages waiting/);
    await jsm.consumers.delete(env.nats.subjects.stream('EVENTS'), 'laggard');
    await al.ticker.evaluate();
    expect((await al.alerts({ rule: 'consumer_lag' })).map((a) => a.state)).toEqual(['resolved']);
  });
});
