import type { Pool } from 'pg';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { allEvents, EventRegistry, uuidv7 } from '@steward/contracts';
import { createPool, EventStore, migrate, readSelectionEncoded, START } from '@steward/event-store';
import { connectNats, declareTopology, provisionStreams } from '@steward/messaging';
import { Logger, Metrics } from '@steward/observability';
import { ProjectionRebuilder, REBUILD_VERDICTS_DDL } from '@steward/runtime';
import { describeHorizonHolders, eventually, useTestEnvironment } from '@steward/testing';
import { RelayService } from '../relay/relay.service';
import { appendCaptures, command, replayedMessages } from '../testing/replay.fixture';
import { ledgerRebuildTarget } from './projection.rebuild';
import { ReplayCommands } from './replay.commands';
import { ensureLedgerSchema } from './replay.migrations';
import { REPLAY_PROJECTION_TYPES } from './replay.projection';
import { ReplayPublisher, type ReplayPublisherOptions } from './replay.publisher';

const logger = new Logger({ service: 'ledger-test', level: 'error' });
const registry = new EventRegistry(allEvents);
const T0 = Date.parse('2026-06-01T00:00:00Z');
const at = (i: number) => new Date(T0 + i * 60_000);

interface ReplayRow {
  state: string;
  total: string;
  published: string;
  kind: string;
  consumer: string;
  dry_run: boolean;
  transform: string | null;
}

// Each test may first wait for the store tail to become commit-safe (settled), up to 90 s on a loaded server.
jest.setTimeout(180_000);

describe('replays', () => {
  const env = useTestEnvironment({ label: 'replay', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let replayPool: Pool;
  let store: EventStore;
  let commands: ReplayCommands;
  let replayNc: NatsConnection;
  const running: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 12 }));
    replayPool = env.track(createPool(env.db.url, { max: 4 }));
    // Stopped before the pools end (tracked resources end in order).
    env.track({ end: () => Promise.all(running.splice(0).map((r) => r.stop())) });
    // The replay publisher's own connection, as in the ledger: relay publishes never queue behind replay pages.
    replayNc = await connectNats(env.nats.url, 'ledger-replay-test');
    env.track({ end: () => replayNc.drain() });
    await ensureLedgerSchema(pool);
    await provisionStreams(env.nats.jsm, declareTopology(env.nats.subjects), logger);
    store = new EventStore(pool, { registry, source: 'ledger' });
    commands = new ReplayCommands(pool, store, { allTypes: registry.all().map((d) => d.type) });
  });

  // One publisher holds the replay lock at a time: each test starts its own.
  afterEach(() => Promise.all(running.splice(0).map((r) => r.stop())));

  function publisher(options: Partial<ReplayPublisherOptions> = {}): ReplayPublisher {
    const p = new ReplayPublisher(
      { databaseUrl: env.db.url, pool: replayPool, js: jetstream(replayNc), subjects: env.nats.subjects, store: new EventStore(replayPool, { registry, source: 'ledger' }), logger, metrics: new Metrics('ledger') },
      { relayName: 'relay', pageSize: 100, progressEvery: 200, progressMs: 60_000, pollMs: 50, lockRetryMs: 50, relayLagLimit: Number.MAX_SAFE_INTEGER, yieldMs: 20, ...options } // no relay runs in most tests,
    );
    running.push(p);
    return p;
  }

  /**
   * A replay covers what was commit-safe when it started: wait until every append so far is (open
   * transactions anywhere on the server hold that back; under the full suite another file's database
   * setup once did for more than 30 s).
   */
  async function settled(): Promise<void> {
    const { rows } = await pool.query<{ max: string | null }>('SELECT max(global_position) AS max FROM events');
    const last = BigInt(rows[0]?.max ?? 0);
    try {
      await eventually(async () => expect((await store.headPosition()).globalPosition).toBeGreaterThanOrEqual(last), 90_000, 20);
    } catch (err) {
      // Seen in 1 of 6 full CI runs of session 12 (and in session 10): name what held the horizon so it can be found.
      throw new Error(`the commit-safe head stayed below ${last} for 90 s:\n${await describeHorizonHolders(pool)}`, { cause: err });
    }
  }

  async function start(payload: unknown): Promise<{ replayId: string; total: number; upTo: { transactionId: string; position: string } }> {
    await settled();
    const result = await commands.handle(command('start_replay', payload));
    if (result.status !== 'recorded') throw new Error(`start_replay ${result.status}: ${JSON.stringify(result)}`);
    const data = result.events[0]!.data as { replayId: string; total: number; upTo: { transactionId: string; position: string } };
    return { replayId: data.replayId, total: data.total, upTo: data.upTo };
  }

  async function row(replayId: string): Promise<ReplayRow & { checkpoint_published: string }> {
    const { rows } = await pool.query<ReplayRow & { checkpoint_published: string }>(
      `SELECT r.state, r.total, r.published, r.kind, r.consumer, r.dry_run, r.transform, c.published AS checkpoint_published
        FROM ledger_replays r JOIN ledger_replay_checkpoints c USING (replay_id) WHERE replay_id = $1`,
      [replayId],
    );
    return rows[0]!;
  }

  it('publishes exactly the captures of a source and time range, unchanged, in commit-safe order, each once', async () => {
    const wanted = await appendCaptures(store, 'acme.prices', 120, at);
    await appendCaptures(store, 'other.feed', 40, at); // another source
    // Concurrent writers commit out of order; the replay must still be in commit order.
    await Promise.all(Array.from({ length: 4 }, () => appendCaptures(store, 'acme.prices', 10, (i) => new Date(T0 + 200 * 60_000 + i))));

    // Captures 20..99 by capturedAt: [T0+20m, T0+100m).
    const { replayId, total } = await start({ source: 'acme.prices', from: at(20).toISOString(), to: at(100).toISOString(), transform: 'prices@2' });
    expect(total).toBe(80);
    const p = publisher();
    p.start();
    await eventually(async () => expect((await row(replayId)).state).toBe('published'), 20_000, 50);

    const msgs = await replayedMessages(env.nats.nc, env.nats.subjects, replayId);
    const expected = new Set(wanted.slice(20, 100));
    expect(msgs).toHaveLength(80);
    expect(new Set(msgs.map((m) => m.msgId))).toEqual(new Set([...expected].map((id) => `${replayId}:${id}`)));
    expect(msgs.every((m) => m.subject === env.nats.subjects.replay(replayId, 'collection.raw_captured'))).toBe(true);
    for (let i = 1; i < msgs.length; i++) {
      const [a, b] = [msgs[i - 1]!, msgs[i]!];
      expect(a.transactionId < b.transactionId || (a.transactionId === b.transactionId && a.globalPosition < b.globalPosition)).toBe(true);
    }
    // Same bytes as the relay would publish for these events.
    const relayBytes = new Map<string, string>();
    let cursor = START;
    for (;;) {
      const page = await store.readAllEncoded(cursor, { limit: 1000 });
      if (page.events.length === 0) break;
      for (const e of page.events) relayBytes.set(e.id, e.envelope);
      cursor = page.cursor;
    }
    for (const m of msgs) expect(m.body).toBe(relayBytes.get(m.msgId.slice(replayId.length + 1)));
    const r = await row(replayId);
    expect(r).toMatchObject({ total: '80', published: '80', kind: 'backfill', consumer: 'transformer', dry_run: false, transform: 'prices@2' });
  });

  it('carries the dry-run flag and counts only what was committed when it started', async () => {
    await appendCaptures(store, 'dry.source', 30, at);
    const { replayId, total } = await start({ source: 'dry.source', transform: 'prices@3', dryRun: true });
    await appendCaptures(store, 'dry.source', 10, at); // after the frozen end: not part of this replay
    expect(total).toBe(30);
    const p = publisher();
    p.start();
    await eventually(async () => expect((await row(replayId)).state).toBe('published'), 20_000, 50);
    expect(await row(replayId)).toMatchObject({ dry_run: true, published: '30' });
    const started = await store.readStream(`replay-${replayId}`);
    expect(started[0]!.data).toMatchObject({ dryRun: true, transform: 'prices@3', total: 30 });
    expect(started.at(-1)!.type).toBe('replay.published');
    expect(await replayedMessages(env.nats.nc, env.nats.subjects, replayId)).toHaveLength(30);
  });

  it('runs two replays at once, taking turns a page at a time', async () => {
    const a = await appendCaptures(store, 'twin.a', 400, at);
    const b = await appendCaptures(store, 'twin.b', 300, at, 'twin-flow');
    const ra = await start({ source: 'twin.a', transform: 'prices@2' });
    const rb = await start({ workflow: 'twin-flow', transform: 'prices@2' });
    const p = publisher({ pageSize: 50 });
    p.start();
    // Both are under way before either is done: round-robin, not one after the other.
    await eventually(async () => {
      const [x, y] = [await row(ra.replayId), await row(rb.replayId)];
      expect(Number(x.checkpoint_published)).toBeGreaterThan(0);
      expect(Number(y.checkpoint_published)).toBeGreaterThan(0);
    }, 20_000, 5);
    await eventually(async () => {
      expect((await row(ra.replayId)).state).toBe('published');
      expect((await row(rb.replayId)).state).toBe('published');
    }, 30_000, 50);
    const [ma, mb] = [await replayedMessages(env.nats.nc, env.nats.subjects, ra.replayId), await replayedMessages(env.nats.nc, env.nats.subjects, rb.replayId)];
    expect(new Set(ma.map((m) => m.msgId))).toEqual(new Set(a.map((id) => `${ra.replayId}:${id}`)));
    expect(new Set(mb.map((m) => m.msgId))).toEqual(new Set(b.map((id) => `${rb.replayId}:${id}`)));
    // Progress events were recorded along the way, not only at the end.
    const stream = await store.readStream(`replay-${ra.replayId}`);
    expect(stream.filter((e) => e.type === 'replay.progressed').length).toBeGreaterThanOrEqual(1);
  });

  it('resumes from its checkpoint after the publisher is abandoned mid-replay; dedupe absorbs the overlap', async () => {
    const ids = await appendCaptures(store, 'crash.source', 2000, at);
    const { replayId } = await start({ source: 'crash.source', transform: 'prices@2' });
    // A crash between JetStream's acks and the checkpoint commit: the publisher's transaction never commits.
    const crashPool = createPool(env.db.url, { max: 2 });
    const crashing = new ReplayPublisher(
      { databaseUrl: env.db.url, pool: crashPool, js: jetstream(env.nats.nc), subjects: env.nats.subjects, store: new EventStore(crashPool, { registry }), logger, metrics: new Metrics('ledger') },
      { relayName: 'relay', pageSize: 100, progressEvery: 200, progressMs: 60_000, pollMs: 50, lockRetryMs: 50, relayLagLimit: Number.MAX_SAFE_INTEGER, yieldMs: 20 },
    );
    crashing.start();
    await eventually(async () => expect(Number((await row(replayId)).checkpoint_published)).toBeGreaterThanOrEqual(500), 20_000, 2);
    // Abandon it: no graceful stop, its connections cut from the server side (lock released, page lost).
    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'steward-relay-replay'`);
    await Promise.all([crashPool.end().catch(() => undefined), crashing.stop()]);
    const atCrash = Number((await row(replayId)).checkpoint_published);
    expect(atCrash).toBeLessThan(2000);

    const resumed = publisher();
    resumed.start();
    await eventually(async () => expect((await row(replayId)).state).toBe('published'), 30_000, 50);
    const msgs = await replayedMessages(env.nats.nc, env.nats.subjects, replayId);
    expect(msgs).toHaveLength(2000);
    expect(new Set(msgs.map((m) => m.msgId))).toEqual(new Set(ids.map((id) => `${replayId}:${id}`)));
    expect((await row(replayId)).published).toBe('2000');
  });

  it('keeps live relay traffic flowing while a 10,000-event replay publishes', async () => {
    await appendCaptures(store, 'big.source', 10_000, at);
    const relay = new RelayService(
      { databaseUrl: env.db.url, pool, nc: env.nats.nc, jsm: env.nats.jsm, subjects: env.nats.subjects, registry, logger, metrics: new Metrics('ledger') },
      { name: 'relay', batchSize: 500, pollMs: 50, lockRetryMs: 50 },
    );
    running.push(relay);
    relay.start();
    // Let the relay catch up with the backlog first: replays yield to it while it is behind.
    const head = await store.headPosition();
    await eventually(() => expect(relay.position?.globalPosition ?? 0n).toBeGreaterThanOrEqual(head.globalPosition), 60_000, 50);

    const live = new EventStore(pool); // test.live is not a registered type
    /** Append -> relay -> JetStream -> subscriber, for `n` live events one after another. */
    const liveDelays = async (n: number): Promise<number[]> => {
      const delays: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = uuidv7();
        const sub = env.nats.nc.subscribe(env.nats.subjects.event('test.live'));
        const seen = (async () => {
          for await (const m of sub) if (m.json<{ id: string }>().id === id) return;
        })();
        const t = Date.now();
        await live.append(`live-${id}`, [{ id, type: 'test.live', data: { i } }], { expected: 'no_stream' });
        await seen;
        delays.push(Date.now() - t);
        sub.unsubscribe();
      }
      return delays.sort((x, y) => x - y);
    };
    // The same path without a replay, on this machine now: a loaded machine is slower for both.
    const baseline = await liveDelays(10);

    const { replayId, total } = await start({ source: 'big.source', transform: 'prices@2' });
    expect(total).toBe(10_000);
    const p = publisher({ pageSize: 100, relayLagLimit: 1000 });
    p.start();
    await eventually(async () => expect(Number((await row(replayId)).checkpoint_published)).toBeGreaterThan(500), 20_000, 5);

    const during = await liveDelays(10);
    const publishedMeanwhile = Number((await row(replayId)).checkpoint_published);
    expect(publishedMeanwhile).toBeLessThan(10_000); // the live events really went out while the replay ran
    // Not delayed behind the replay: about as fast as without it (a page of 100 is the most a live event waits for).
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    expect(median(during)).toBeLessThan(Math.max(200, 4 * median(baseline)));
    expect(during.at(-1)).toBeLessThan(Math.max(1000, 4 * baseline.at(-1)!));
    await eventually(async () => expect((await row(replayId)).state).toBe('published'), 60_000, 100);
    expect(await replayedMessages(env.nats.nc, env.nats.subjects, replayId)).toHaveLength(10_000);
  });

  it('rejects bad start_replay payloads with path-named errors, recording command.rejected', async () => {
    const cases: [unknown, string][] = [
      [{ transform: 'prices@2' }, 'payload.source'],
      [{ source: 'a.b', workflow: 'w', transform: 'prices@2' }, 'payload.workflow'],
      [{ source: 'a.b', transform: 'prices' }, 'payload.transform'],
      [{ source: 'a.b', transform: 'prices@2', from: 'yesterday' }, 'payload.from'],
      [{ source: 'a.b', transform: 'prices@2', from: at(5).toISOString(), to: at(1).toISOString() }, 'payload.from'],
      [{ source: 'a.b', transform: 'prices@2', dryRun: 'yes' }, 'payload.dryRun'],
      [{ rebuild: 'Not A Service' }, 'payload.rebuild'],
      [{ rebuild: 'scheduler', types: ['nodot'] }, 'payload.types[0]'],
      [{ rebuild: 'scheduler', transform: 'prices@2' }, 'payload.transform'],
      [{ source: 'a.b', transform: 'prices@2', speed: 'fast' }, 'payload.speed'],
    ];
    for (const [payload, path] of cases) {
      const c = command('start_replay', payload);
      const result = await commands.handle(c);
      expect(result).toMatchObject({ status: 'rejected', code: 'validation' });
      const [rejected] = await store.readStream(`command-${c.commandId}`);
      expect(rejected!.type).toBe('command.rejected');
      expect(rejected!.metadata.causationId).toBe(c.commandId);
      expect((rejected!.data as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(path);
    }
    // A repeat of the same command is not run twice.
    const c = command('start_replay', { source: 'a.b', transform: 'prices@2' });
    expect((await commands.handle(c)).status).toBe('recorded');
    expect((await commands.handle(c)).status).toBe('duplicate');
  });

  it('rebuilds: re-publishes every stored event of the chosen types for a service, and cancels', async () => {
    const { replayId, total } = await start({ rebuild: 'ledger', types: ['replay.started', 'replay.published'] });
    const [started] = await store.readStream(`replay-${replayId}`);
    const upTo = (started!.data as { upTo: { transactionId: string; position: string } }).upTo;
    const expected = await readSelectionEncoded(pool, { types: ['replay.started', 'replay.published'] }, START, { transactionId: BigInt(upTo.transactionId), globalPosition: BigInt(upTo.position) }, 10_000);
    expect(total).toBeGreaterThan(0);
    expect(expected.events).toHaveLength(total);
    const p = publisher();
    p.start();
    await eventually(async () => expect((await row(replayId)).state).toBe('completed'), 20_000, 50);
    expect(await row(replayId)).toMatchObject({ kind: 'rebuild', consumer: 'ledger', published: String(total) });
    const msgs = await replayedMessages(env.nats.nc, env.nats.subjects, replayId);
    expect(msgs.map((m) => m.msgId.slice(replayId.length + 1))).toEqual(expected.events.map((e) => e.id));

    // Cancel: only while not final.
    const cancelled = await commands.handle(command('cancel_replay', { replayId }));
    expect(cancelled).toMatchObject({ status: 'rejected', code: 'illegal_state' });
    expect(await commands.handle(command('cancel_replay', { replayId: 'no-such-replay' }))).toMatchObject({ status: 'rejected', code: 'not_found' });
  });

  it('records a cancel and stops publishing that replay', async () => {
    await appendCaptures(store, 'cancel.source', 300, at);
    const { replayId } = await start({ source: 'cancel.source', transform: 'prices@2' });
    const result = await commands.handle(command('cancel_replay', { replayId, reason: 'wrong transform' }));
    expect(result.status).toBe('recorded');
    const p = publisher();
    p.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(await row(replayId)).toMatchObject({ state: 'cancelled', checkpoint_published: '0' });
  });

  it('fails a backfill the transformer cannot apply (replay.failed on its stream) and stops publishing it', async () => {
    await appendCaptures(store, 'unknown.source', 500, at);
    const { replayId } = await start({ source: 'unknown.source', transform: 'nope@9' });
    // The transformer's answer to a transform it does not have (services/transformer ReplayService.started).
    await store.append(`transformation-replay-${replayId}`, [{
      type: 'replay.failed',
      data: { replayId, error: { code: 'unknown_transform', message: 'no transform nope@9 is loaded (TRANSFORMER_TRANSFORMS)' }, at: new Date().toISOString() },
    }], { expected: 'no_stream' });
    const p = publisher({ pageSize: 50 });
    p.start();
    await eventually(async () => expect(await row(replayId)).toMatchObject({ state: 'failed' }), 20_000, 50);
    const { rows: [failed] } = await pool.query<{ failed: { code: string } }>('SELECT failed FROM ledger_replays WHERE replay_id = $1', [replayId]);
    expect(failed!.failed).toMatchObject({ code: 'unknown_transform' });
    // Nothing more goes out once it failed.
    const sent = Number((await row(replayId)).checkpoint_published);
    await new Promise((r) => setTimeout(r, 300));
    expect(Number((await row(replayId)).checkpoint_published)).toBe(sent);
    expect(sent).toBeLessThan(500);
  });

  it("completes a backfill when the transformer reports it, and a rebuild of the ledger's replay projection equals the live one", async () => {
    // The transformer's side of one backfill: it applied every capture.
    await appendCaptures(store, 'done.source', 20, at);
    const backfill = await start({ source: 'done.source', transform: 'prices@4' });
    const p = publisher();
    p.start();
    await eventually(async () => expect((await row(backfill.replayId)).state).toBe('published'), 20_000, 50);
    const completion = await store.append(`transformation-replay-${backfill.replayId}`, [{
      type: 'transformation.replay_completed',
      data: { replayId: backfill.replayId, transform: 'prices@4', dataset: 'prices', datasetVersion: 4, dryRun: false, captures: 20, counts: { rows: 20, upserted: 18, unchanged: 0, quarantined: 2 }, completedAt: new Date().toISOString() },
    }], { expected: 'no_stream' });
    await eventually(async () => expect(await row(backfill.replayId)).toMatchObject({ state: 'completed' }), 20_000, 50);
    const { rows: [applied] } = await pool.query<{ applied: string }>('SELECT applied FROM ledger_replays WHERE replay_id = $1', [backfill.replayId]);
    expect(applied!.applied).toBe('20');

    // The rebuild's frozen end must cover the completion (an open transaction anywhere on the server holds it back).
    const completedAt = completion.events[0]!.globalPosition;
    await eventually(async () => expect((await store.headPosition()).globalPosition).toBeGreaterThanOrEqual(completedAt), 30_000, 50);
    await pool.query(REBUILD_VERDICTS_DDL);
    const rebuilder = new ProjectionRebuilder(ledgerRebuildTarget(), { pool, nc: env.nats.nc, subjects: env.nats.subjects, registry, logger });
    const rebuild = await start({ rebuild: 'ledger', types: REPLAY_PROJECTION_TYPES });
    const report = await rebuilder.rebuild(rebuild.replayId, rebuild, { timeoutMs: 30_000 });
    expect(report.differences).toEqual([]);
    expect(report).toMatchObject({ ok: true, consumed: rebuild.total });
    expect(report.compared).toBeGreaterThanOrEqual(9); // every replay of this file so far
    expect(report.alreadyDone).toBeUndefined();
    // A second replica that waited on the lock for the same replay takes the recorded verdict instead of folding again.
    const { rows: [first] } = await pool.query<{ verified_at: Date }>('SELECT verified_at FROM projection_rebuilds WHERE replay_id = $1', [rebuild.replayId]);
    const second = await rebuilder.rebuild(rebuild.replayId, rebuild, { timeoutMs: 30_000, once: true });
    expect(second).toEqual({ ...report, alreadyDone: true });
    const { rows: [after] } = await pool.query<{ verified_at: Date }>('SELECT verified_at FROM projection_rebuilds WHERE replay_id = $1', [rebuild.replayId]);
    expect(after!.verified_at).toEqual(first!.verified_at);
    const { rows: [live] } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM rebuild_ledger.ledger_replays WHERE replay_id = $1 AND state = 'completed'", [backfill.replayId]);
    expect(live!.n).toBe('1');

    // A live row that drifted from its events is found.
    await pool.query('UPDATE ledger_replays SET total = total + 1 WHERE replay_id = $1', [backfill.replayId]);
    const rebuildEnd = (await store.readStream(`replay-${rebuild.replayId}`)).at(-1)!.globalPosition;
    await eventually(async () => expect((await store.headPosition()).globalPosition).toBeGreaterThanOrEqual(rebuildEnd), 30_000, 50);
    const again = await start({ rebuild: 'ledger', types: REPLAY_PROJECTION_TYPES });
    const drifted = await rebuilder.rebuild(again.replayId, again, { timeoutMs: 30_000 });
    expect(drifted.ok).toBe(false);
    expect(drifted.differences).toEqual([`ledger_replays ["${backfill.replayId}"]: total differ`]);
    // The earlier rebuild's own row changed after this one's end (it completed later): skipped, not a difference.
    expect(drifted.skipped).toBeGreaterThanOrEqual(1);
    const { rows: [recorded] } = await pool.query<{ ok: boolean }>('SELECT ok FROM projection_rebuilds WHERE replay_id = $1', [again.replayId]);
    expect(recorded!.ok).toBe(false);
  });
});
