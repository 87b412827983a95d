import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { eventually, useTestEnvironment } from '@steward/testing';
import { PresenceDirectory, PresenceReporter, presenceBucket } from './presence';

// A short lease so a dead instance ages out within the test: the first
// reporter creates the bucket with max_age = 3 x 200 ms.
const INTERVAL_MS = 200;

describe('service presence', () => {
  const env = useTestEnvironment({ label: 'presence' });
  const reporters: PresenceReporter[] = [];
  afterAll(() => Promise.all(reporters.map((r) => r.stop())));

  function reporter(service: string, instance: string, nc = env.nats.nc): PresenceReporter {
    const r = new PresenceReporter(nc, env.nats.subjects, { service, instance, capabilities: ['relay'], version: '1.2.3', intervalMs: INTERVAL_MS });
    reporters.push(r);
    return r;
  }

  it('says nothing runs before anything ever reported', async () => {
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    expect(await directory.list()).toEqual([]);
    expect(await directory.isRunning('ledger')).toBe(false);
  });

  it('lists a reporting instance as running, and keeps it running past the lease while it reports', async () => {
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    const r = reporter('ledger', 'pod-a');
    await r.start();
    expect(await directory.isRunning('ledger')).toBe(true);
    expect(await directory.isRunning('executor')).toBe(false);
    const [entry] = await directory.list();
    expect(entry).toMatchObject({ service: 'ledger', instance: 'pod-a', capabilities: ['relay'], version: '1.2.3' });
    expect(Date.parse(entry!.startedAt)).toBeLessThanOrEqual(Date.parse(entry!.lastSeen));
    // Three leases later it is still there: the reports renew it.
    await new Promise((r) => setTimeout(r, 9 * INTERVAL_MS));
    expect(await directory.isRunning('ledger')).toBe(true);
    await r.stop();
  });

  it('drops an instance at once when it stops', async () => {
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    const r = reporter('scheduler', 'pod-b');
    await r.start();
    expect(await directory.isRunning('scheduler')).toBe(true);
    await r.stop();
    expect(await directory.isRunning('scheduler')).toBe(false);
    expect((await directory.list()).map((e) => e.service)).not.toContain('scheduler');
  });

  it('drops an instance that died without stopping once its lease runs out', async () => {
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    // Its own connection, closed under it: the process is gone, stop() never ran.
    const doomed = await connect({ servers: env.nats.url });
    const r = reporter('executor', 'pod-c', doomed);
    await r.start();
    expect(await directory.isRunning('executor')).toBe(true);
    await doomed.close();
    const died = Date.now();
    await eventually(async () => expect(await directory.isRunning('executor')).toBe(false), 5_000, 50);
    expect(Date.now() - died).toBeLessThan(3 * INTERVAL_MS + 1_500);
    // Gone from the bucket itself (max_age), not only filtered out as stale.
    const kv = await new Kvm(env.nats.nc).open(presenceBucket(env.nats.subjects));
    await eventually(async () => expect(await kv.get('executor.pod-c')).toBeNull(), 5_000, 100);
  });

  it('rejects a service name that is not a key token', () => {
    expect(() => new PresenceReporter(env.nats.nc, env.nats.subjects, { service: 'led.ger' })).toThrow(/letters, digits/);
  });
});
