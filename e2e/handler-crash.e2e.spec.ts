import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { uuidv7 } from '@steward/contracts';
import { createPool, migrate } from '@steward/event-store';
import { declareTopology, provisionStreams, publishEvent } from '@steward/messaging';
import { eventually, useTestEnvironment } from '@steward/testing';

function startConsumer(env: Record<string, string>, crash: boolean) {
  const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'crash-after-commit.consumer.js')], {
    env: { ...process.env, ...env, CRASH: crash ? '1' : '0', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
  child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  return { child, lines, exited };
}

describe('a handler that crashes after its transaction committed, before the ack', () => {
  const env = useTestEnvironment({ label: 'handlercrash', setupDatabase: (url) => migrate(url) });

  it('is redelivered and acknowledged without a second effect', async () => {
    const pool = env.track(createPool(env.db.url, { max: 2 }));
    await provisionStreams(env.nats.jsm, declareTopology(env.nats.subjects));
    const id = uuidv7();
    await publishEvent(jetstream(env.nats.nc), env.nats.subjects, {
      specversion: '1.0',
      id,
      source: 'test',
      type: 'test.ordered',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      dataschemaversion: 1,
      streamid: `work-${id}`,
      streamversion: 1,
      correlationid: id,
      data: { n: 7 },
    });

    const crashing = startConsumer(env.env(), true);
    expect(await crashing.exited).toBe('SIGKILL');
    expect(crashing.lines.some((l) => l.includes(`"status":"processed"`))).toBe(true);

    const healthy = startConsumer(env.env(), false);
    await eventually(() => expect(healthy.lines.some((l) => l.includes(`"status":"duplicate"`))).toBe(true), 20_000);
    await eventually(async () => {
      const info = await env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), 'crasher');
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
      expect(info.delivered.consumer_seq).toBe(2); // delivered to the crashed process, then once more
    });
    healthy.child.kill('SIGTERM');
    expect(await healthy.exited).toBe(0);

    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE stream_id = $1`, [`effect-${id}`]);
    expect(rows[0]!.n).toBe('1');
    const inbox = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM inbox WHERE consumer = 'crasher'`);
    expect(inbox.rows[0]!.n).toBe('1');
  });
});
