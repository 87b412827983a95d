import { Client, type Pool, type PoolClient } from 'pg';
import type { StoredEvent } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { EVENTS_CHANNEL, EventStore, WakeupGate, createPool, migrate, type Cursor } from './index';

const env = useTestEnvironment({ label: 'wakeup', setupDatabase: (url) => migrate(url) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('append notifications behind the wake-up gate', () => {
  let pool: Pool;
  let store: EventStore;
  let listener: Client;
  let gate: WakeupGate;
  const received: number[] = [];
  let n = 0;

  beforeAll(async () => {
    pool = createPool(env.db.url, { max: 24 });
    store = new EventStore(pool);
    listener = new Client({ connectionString: env.db.url });
    await listener.connect();
    listener.on('notification', (msg) => {
      if (msg.channel === EVENTS_CHANNEL) received.push(Date.now());
    });
    await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
    gate = new WakeupGate(listener);
  });
  afterAll(async () => {
    await listener.end();
    await pool.end();
  });
  afterEach(async () => {
    await gate.disarm().catch(() => undefined);
    received.length = 0;
  });

  const append = (tx?: PoolClient) => store.append(`w-${++n}`, [{ type: 'test.happened', data: {} }], { expected: 'any', tx });

  it('stays silent while no listener is armed, so appenders do not queue on the notify lock', async () => {
    await append();
    await sleep(150);
    expect(received).toEqual([]);
  });

  it('notifies once per committed transaction while armed, never before the commit', async () => {
    expect(await gate.arm()).toBe(true);
    await append();
    await eventually(() => expect(received).toHaveLength(1));

    const tx = await pool.connect();
    await tx.query('BEGIN');
    await append(tx);
    await append(tx);
    await sleep(150);
    expect(received).toHaveLength(1);
    await tx.query('COMMIT');
    tx.release();
    await eventually(() => expect(received).toHaveLength(2));
    await sleep(100);
    expect(received).toHaveLength(2);
  });

  it('cannot be armed while an append that skipped its notification is uncommitted', async () => {
    const tx = await pool.connect();
    await tx.query('BEGIN');
    await append(tx);
    try {
      expect(await gate.arm()).toBe(false);
    } finally {
      await tx.query('COMMIT');
      tx.release();
    }
    expect(await gate.arm()).toBe(true);
    expect(await new WakeupGate(pool).arm()).toBe(false); // one armed listener at a time
  });

  it('loses no wake-up: a reader that only sleeps on notifications sees every event while writers commit', async () => {
    // The poll interval is far beyond the test's patience, so only
    // notifications (or the re-read after arming) can deliver events.
    const POLL_MS = 60_000;
    const seen: StoredEvent[] = [];
    let wake: (() => void) | undefined;
    // A notification that lands while the reader is busy (draining, checking) must not be lost: keep it.
    let woken = false;
    listener.on('notification', () => {
      woken = true;
      wake?.();
    });
    let stop = false;

    const reader = (async () => {
      let cursor: Cursor = await store.headPosition();
      const drain = async () => {
        let total = 0;
        for (;;) {
          const page = await store.readAll(cursor, { limit: 50 });
          if (page.events.length === 0) return total;
          seen.push(...page.events);
          cursor = page.cursor;
          total += page.events.length;
        }
      };
      while (!stop) {
        await drain();
        if (!(await gate.arm())) {
          await sleep(2); // appends in flight: they will be readable shortly
          continue;
        }
        try {
          woken = false;
          if ((await drain()) > 0) continue;
          // Held back by an older transaction elsewhere on the server: its end does not notify.
          if (await store.committedAfter(cursor)) {
            await sleep(10);
            continue;
          }
          // Stopped while it was reading: the stop's wake-up found no waiter, so do not start a 60 s wait now.
          if (woken || stop) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        } finally {
          await gate.disarm();
        }
      }
    })();

    const written: string[] = [];
    for (let burst = 0; burst < 5; burst++) {
      const writers = Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 5; i++) {
          if (i % 2 === 0) {
            const tx = await pool.connect();
            await tx.query('BEGIN');
            const { events } = await append(tx);
            await sleep(Math.random() * 10);
            await tx.query('COMMIT');
            tx.release();
            written.push(events[0]!.eventId);
          } else {
            written.push((await append()).events[0]!.eventId);
          }
        }
      });
      await Promise.all(writers);
      await sleep(Math.random() * 50); // let the reader fall asleep between bursts
    }

    try {
      // The reader may also pick up earlier tests' events that were not yet commit-safe when it started.
      await eventually(() => {
        const ids = new Set(seen.map((e) => e.eventId));
        expect(written.filter((id) => !ids.has(id))).toEqual([]);
      }, 10_000);
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
    } finally {
      stop = true;
      wake?.();
      await reader;
    }
  });
});
