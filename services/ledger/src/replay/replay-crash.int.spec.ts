import type { Pool } from 'pg';
import { CommandBus, PresenceDirectory } from '@steward/messaging';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { Logger } from '@steward/observability';
import { eventually, freePort, ServiceProcess, useTestEnvironment } from '@steward/testing';
import { appendCaptures, replayedMessages } from '../testing/replay.fixture';

// Needs a built ledger (node services/ledger/dist/main.js), like e2e/.
const logger = new Logger({ service: 'ledger-test', level: 'error' });
const T0 = Date.parse('2026-06-01T00:00:00Z');

describe('replays in the ledger process', () => {
  const env = useTestEnvironment({ label: 'replaycrash', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;
  const processes: ServiceProcess[] = [];

  beforeAll(() => {
    pool = env.track(createPool(env.db.url, { max: 8 }));
    store = new EventStore(pool);
    env.track({ end: () => Promise.all(processes.map((p) => p.kill('SIGTERM'))) });
  });

  async function ledger(): Promise<ServiceProcess> {
    const p = new ServiceProcess('ledger', await freePort(), {
      ...env.env(),
      LOG_LEVEL: 'warn',
      // Small pages and frequent progress so a kill lands mid-replay.
      LEDGER_REPLAY_PAGE_SIZE: '100',
      LEDGER_REPLAY_PROGRESS_EVERY: '500',
      LEDGER_REPLAY_POLL_MS: '100',
      RELAY_POLL_MS: '100',
      RELAY_LOCK_RETRY_MS: '100',
    }).start();
    processes.push(p);
    await p.waitReady();
    return p;
  }

  async function published(replayId: string): Promise<number> {
    const { rows } = await pool.query<{ published: string }>('SELECT published FROM ledger_replay_checkpoints WHERE replay_id = $1', [replayId]);
    return Number(rows[0]?.published ?? 0);
  }

  it('answers start_replay through the command bus, survives SIGKILL mid-replay and resumes without losing or repeating an event', async () => {
    const ids = await appendCaptures(store, 'kill.source', 20_000, (i) => new Date(T0 + i * 1000));
    const first = await ledger();

    // The gateway only dispatches to services that announce the command.
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    await eventually(async () => {
      const ledgers = (await directory.list()).filter((i) => i.service === 'ledger');
      expect(ledgers.some((i) => i.capabilities.includes('cmd:start_replay') && i.capabilities.includes('cmd:cancel_replay'))).toBe(true);
    }, 10_000, 100);

    // A replay covers what was commit-safe when it started: let every capture settle first.
    await eventually(async () => {
      const { rows } = await pool.query<{ max: string }>('SELECT max(global_position) AS max FROM events');
      expect((await store.headPosition()).globalPosition).toBeGreaterThanOrEqual(BigInt(rows[0]!.max));
    }, 30_000, 20);
    const bus = new CommandBus(env.nats.nc, env.nats.subjects, { logger });
    const bad = await bus.send('ledger', 'start_replay', { source: 'kill.source', transform: 'nope' }, { actor: 'ana', timeoutMs: 10_000 });
    expect(bad).toMatchObject({ status: 'rejected', code: 'validation' });
    expect(bad.status === 'rejected' && bad.issues.map((i) => i.path)).toContain('payload.transform');

    const outcome = await bus.send('ledger', 'start_replay', { source: 'kill.source', transform: 'prices@2' }, { actor: 'ana', timeoutMs: 10_000 });
    expect(outcome.status).toBe('completed');
    const started = outcome.status === 'completed' ? outcome.events[0]! : undefined;
    expect(started?.type).toBe('replay.started');
    const { replayId, total } = started!.data as { replayId: string; total: number };
    expect(total).toBe(20_000);

    await eventually(async () => expect(await published(replayId)).toBeGreaterThan(1000), 30_000, 5);
    expect(await first.kill('SIGKILL')).toBeNull();
    const atKill = await published(replayId);
    expect(atKill).toBeLessThan(20_000); // really mid-replay

    const second = await ledger();
    await eventually(async () => {
      const { rows } = await pool.query<{ state: string }>('SELECT state FROM ledger_replays WHERE replay_id = $1', [replayId]);
      expect(rows[0]?.state).toBe('published');
    }, 90_000, 200);
    const msgs = await replayedMessages(env.nats.nc, env.nats.subjects, replayId);
    expect(msgs).toHaveLength(20_000);
    expect(new Set(msgs.map((m) => m.msgId))).toEqual(new Set(ids.map((id) => `${replayId}:${id}`)));
    expect(await published(replayId)).toBe(20_000);
    expect(await second.metrics()).toMatch(/steward_replay_published_total\{[^}]*\} [1-9]\d*/);
    await second.kill('SIGTERM');
  }, 180_000);
});
