import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import {
  ConcurrencyError,
  EventRegistry,
  IllegalStateError,
  UnknownEventTypeError,
  ValidationError,
  defineEvent,
  isUuidV7,
  uuidv7,
  type NewEvent,
} from '@steward/contracts';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, createPool, migrate, type ExpectedVersion } from './index';

const Deposited = defineEvent({
  type: 'account.deposited',
  version: 2,
  schema: z.object({ amount: z.number().int().positive(), currency: z.string().length(3) }),
  description: 'money came in',
});
const registry = new EventRegistry([Deposited]);

const deposit = (amount = 10): NewEvent => ({ type: 'account.deposited', data: { amount, currency: 'EUR' } });

// Declared outside the describe so the pool below closes before the database is dropped.
const env = useTestEnvironment({ label: 'append', setupDatabase: (url) => migrate(url) });

describe('append', () => {
  let pool: Pool;
  let store: EventStore;
  let stream = 0;
  const newStream = () => `account-${++stream}`;

  beforeAll(() => {
    pool = createPool(env.db.url, { max: 12 });
    store = new EventStore(pool, { registry, source: 'append-test' });
  });
  afterAll(() => pool.end());

  async function rowCount(streamId?: string): Promise<number> {
    const { rows } = await pool.query<{ n: string }>(
      streamId ? 'SELECT count(*) AS n FROM events WHERE stream_id = $1' : 'SELECT count(*) AS n FROM events',
      streamId ? [streamId] : [],
    );
    return Number(rows[0]!.n);
  }

  async function sequenceValue(): Promise<string | null> {
    const { rows } = await pool.query<{ v: string | null }>(
      `SELECT pg_sequence_last_value('events_global_position_seq') AS v`,
    );
    return rows[0]!.v;
  }

  async function expectConflict(promise: Promise<unknown>, streamId: string, expected: ExpectedVersion, actual: number | null) {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err).toMatchObject({ code: 'concurrency', streamId, expected: String(expected), actual });
  }

  describe('result', () => {
    it('returns the rows as inserted with versions from 1, positions, one transaction id and minted UUIDv7 ids', async () => {
      const s = newStream();
      const result = await store.append(s, [deposit(1), deposit(2), deposit(3)], { expected: 'no_stream' });
      expect(result.streamId).toBe(s);
      expect(result.nextExpectedVersion).toBe(3);
      expect(result.events.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
      expect(result.events.map((e) => (e.data as { amount: number }).amount)).toEqual([1, 2, 3]);
      const [a, b, c] = result.events;
      expect(a!.globalPosition < b!.globalPosition && b!.globalPosition < c!.globalPosition).toBe(true);
      expect(new Set(result.events.map((e) => e.transactionId)).size).toBe(1);
      expect(result.events.every((e) => isUuidV7(e.eventId) && e.schemaVersion === 2)).toBe(true);
      expect(a!.metadata).toMatchObject({ source: 'append-test', correlationId: a!.eventId });
      expect(await store.readStream(s)).toEqual(result.events);
    });

    it('keeps a caller-supplied id and metadata', async () => {
      const id = uuidv7();
      const metadata = { correlationId: 'corr-1', actor: 'alice', source: 'elsewhere' };
      const { events } = await store.append(newStream(), [{ ...deposit(), id, metadata }], { expected: 'any' });
      expect(events[0]).toMatchObject({ eventId: id, metadata });
    });

    it('reports the current version for an empty batch without writing', async () => {
      const s = newStream();
      await store.append(s, [deposit()], { expected: 'no_stream' });
      await expect(store.append(s, [], { expected: 1 })).resolves.toEqual({ streamId: s, nextExpectedVersion: 1, events: [] });
      await expectConflict(store.append(s, [], { expected: 'no_stream' }), s, 'no_stream', 1);
    });
  });

  describe('expected version', () => {
    it("'no_stream' conflicts when the stream exists", async () => {
      const s = newStream();
      await store.append(s, [deposit()], { expected: 'no_stream' });
      await expectConflict(store.append(s, [deposit()], { expected: 'no_stream' }), s, 'no_stream', 1);
    });

    it("'exists' conflicts when the stream is missing and succeeds once it exists", async () => {
      const s = newStream();
      await expectConflict(store.append(s, [deposit()], { expected: 'exists' }), s, 'exists', null);
      await store.append(s, [deposit()], { expected: 'no_stream' });
      await expect(store.append(s, [deposit()], { expected: 'exists' })).resolves.toMatchObject({ nextExpectedVersion: 2 });
    });

    it('an exact version conflicts unless it is the current version', async () => {
      const s = newStream();
      await store.append(s, [deposit(), deposit()], { expected: 'no_stream' });
      await expectConflict(store.append(s, [deposit()], { expected: 1 }), s, 1, 2);
      await expectConflict(store.append(s, [deposit()], { expected: 3 }), s, 3, 2);
      const missing = newStream();
      await expectConflict(store.append(missing, [deposit()], { expected: 4 }), missing, 4, null);
      await expect(store.append(s, [deposit()], { expected: 2 })).resolves.toMatchObject({ nextExpectedVersion: 3 });
    });

    it('version 0 means the stream must not exist yet', async () => {
      const s = newStream();
      await expect(store.append(s, [deposit()], { expected: 0 })).resolves.toMatchObject({ nextExpectedVersion: 1 });
      await expectConflict(store.append(s, [deposit()], { expected: 0 }), s, 0, 1);
    });

    it("'any' never conflicts", async () => {
      const s = newStream();
      await store.append(s, [deposit()], { expected: 'any' });
      const r = await store.append(s, [deposit(), deposit()], { expected: 'any' });
      expect(r.nextExpectedVersion).toBe(3);
    });

    it('rejects a stale writer before it takes a global position', async () => {
      const s = newStream();
      await store.append(s, [deposit()], { expected: 'no_stream' });
      const before = await sequenceValue();
      await expect(store.append(s, [deposit()], { expected: 'no_stream' })).rejects.toBeInstanceOf(ConcurrencyError);
      expect(await sequenceValue()).toBe(before);
    });

    it('lets exactly one of many concurrent writers with the same expected version win', async () => {
      const s = newStream();
      await store.append(s, [deposit()], { expected: 'no_stream' });
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => store.append(s, [deposit()], { expected: 1 })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(rejected).toHaveLength(9);
      for (const r of rejected) expect(r.reason).toBeInstanceOf(ConcurrencyError);
      expect(await rowCount(s)).toBe(2);
    });

    describe('when both writers passed the version check (the unique index decides)', () => {
      async function holdOpen(fn: (tx: PoolClient) => Promise<void>): Promise<PoolClient> {
        const tx = await pool.connect();
        await tx.query('BEGIN');
        await fn(tx);
        return tx;
      }

      it('the second writer with an exact version gets a ConcurrencyError with the winning version', async () => {
        const s = newStream();
        await store.append(s, [deposit()], { expected: 'no_stream' });
        const first = await holdOpen((tx) => store.append(s, [deposit(), deposit()], { expected: 1, tx }).then(() => undefined));
        // The open transaction's rows are invisible, so this writer passes the
        // check and then waits on the unique index for the first to finish.
        const second = store.append(s, [deposit()], { expected: 1 });
        await new Promise((r) => setTimeout(r, 200));
        await first.query('COMMIT');
        first.release();
        await expectConflict(second, s, 1, 3);
        expect(await rowCount(s)).toBe(3);
      });

      it("an 'any' writer retries and lands after an exact-version winner", async () => {
        const s = newStream();
        await store.append(s, [deposit()], { expected: 'no_stream' });
        const first = await holdOpen((tx) => store.append(s, [deposit()], { expected: 1, tx }).then(() => undefined));
        const second = store.append(s, [deposit(7)], { expected: 'any' });
        await new Promise((r) => setTimeout(r, 200));
        await first.query('COMMIT');
        first.release();
        const result = await second;
        expect(result.events.map((e) => e.streamVersion)).toEqual([3]);
        expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
      });

      it("many concurrent 'any' writers all succeed with gap-free versions", async () => {
        const s = newStream();
        await Promise.all(Array.from({ length: 12 }, () => store.append(s, [deposit()], { expected: 'any' })));
        expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      });
    });

    it('rejects an event id that is already stored as a conflict, not a crash', async () => {
      const id = uuidv7();
      await store.append(newStream(), [{ ...deposit(), id }], { expected: 'any' });
      const err = await store.append(newStream(), [{ ...deposit(), id }], { expected: 'any' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IllegalStateError);
      expect(err).toMatchObject({ context: { eventId: id } });
    });
  });

  describe('bad input is rejected with a typed error naming the field, and nothing is written', () => {
    let s: string;
    let before: number;

    beforeEach(async () => {
      s = newStream();
      await store.append(s, [deposit(1)], { expected: 'no_stream' });
      before = await rowCount();
    });

    afterEach(async () => {
      expect(await rowCount()).toBe(before);
      expect((await store.readStream(s)).map((e) => e.data)).toEqual([{ amount: 1, currency: 'EUR' }]);
    });

    async function rejection(events: NewEvent[], target: EventStore = store): Promise<ValidationError> {
      const err = await target.append(s, events, { expected: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      return err as ValidationError;
    }

    it('an oversized payload names events[i].data and the sizes', async () => {
      const small = new EventStore(pool, { maxPayloadBytes: 2_000 });
      const big = { type: 'account.noted', data: { text: 'x'.repeat(3_000) } };
      const err = await rejection([{ type: 'account.noted', data: {} }, big], small);
      expect(err.message).toMatch(/events\[1\]\.data/);
      expect(err.message).toMatch(/over the limit of 2000 bytes/);
      expect(err.issues).toEqual([{ path: 'data', message: expect.stringMatching(/^payload is \d+ bytes/) }]);
      expect(err.context).toMatchObject({ index: 1, limit: 2000 });
    });

    it('the default limit is 1 MiB', async () => {
      const err = await rejection([{ type: 'account.noted', data: { text: 'x'.repeat(1024 * 1024) } }], new EventStore(pool));
      expect(err.context).toMatchObject({ limit: 1024 * 1024 });
    });

    it('an unknown type raises UnknownEventTypeError', async () => {
      const err = await rejection([deposit(), { type: 'account.vanished', data: {} }]);
      expect(err).toBeInstanceOf(UnknownEventTypeError);
      expect(err.issues).toEqual([{ path: 'type', message: expect.any(String) }]);
    });

    it('invalid data names data.<field>', async () => {
      const err = await rejection([{ type: 'account.deposited', data: { amount: -5, currency: 'EURO' } }]);
      expect(err.issues.map((i) => i.path).sort()).toEqual(['data.amount', 'data.currency']);
      expect(err.context).toMatchObject({ index: 0, type: 'account.deposited' });
    });

    it('malformed metadata names metadata.traceparent', async () => {
      const err = await rejection([{ ...deposit(), metadata: { traceparent: 'not-a-trace' } }]);
      expect(err.issues).toEqual([{ path: 'metadata.traceparent', message: 'expected a W3C traceparent' }]);
    });

    it('an id that is not a UUIDv7 names id', async () => {
      const err = await rejection([{ ...deposit(), id: '6ba7b810-9dad-11d1-80b4-00c04fd430c8' }]);
      expect(err.issues).toEqual([{ path: 'id', message: 'expected a UUIDv7' }]);
    });

    it('a schema version other than the registered one names schemaVersion', async () => {
      const err = await rejection([{ ...deposit(), schemaVersion: 1 }]);
      expect(err.issues[0]!.path).toBe('schemaVersion');
    });

    it('an empty or overlong stream id names streamId', async () => {
      for (const bad of ['', 'x'.repeat(201)]) {
        const err = await store.append(bad, [deposit()], { expected: 'any' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues[0]!.path).toBe('streamId');
      }
    });
  });
});
