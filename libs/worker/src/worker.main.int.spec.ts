import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { allEvents, EventRegistry, uuidv7 } from '@steward/contracts';
import { PresenceDirectory, publishEvent, type CommandEnvelope } from '@steward/messaging';
import { eventually, useTestEnvironment } from '@steward/testing';

// A team's own worker: the standalone entry, configured only by environment,
// serving its queue with the example handlers.

const MAIN = join(__dirname, '..', 'dist', 'worker.main.js');
const HANDLERS = join(__dirname, '..', '..', '..', 'examples', 'handlers');

describe('standalone worker process', () => {
  const env = useTestEnvironment({ label: 'workermain' });
  let proc: ChildProcess | undefined;
  const output: string[] = [];

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
  });

  it('serves its queue from STEWARD_HANDLERS, announces itself and reports results', async () => {
    const { nc, subjects } = env.nats;
    const dataDir = mkdtempSync(join(tmpdir(), 'worker-main-'));
    const profiles = join(dataDir, 'profiles.yaml');
    writeFileSync(profiles, `checkout-probe:\n  env:\n    EXAMPLES_DATA_DIR: ${JSON.stringify(dataDir)}\n`);
    const results: CommandEnvelope[] = [];
    const sub = nc.subscribe(subjects.command('executor', 'report_step_result'), {
      callback: (_e, msg) => void results.push(JSON.parse(new TextDecoder().decode(msg.data)) as CommandEnvelope),
    });
    proc = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        NATS_URL: env.nats.url,
        STEWARD_NAMESPACE: env.nats.namespace,
        STEWARD_HANDLERS: HANDLERS,
        STEWARD_QUEUES: 'web-checks',
        STEWARD_PROFILES: profiles,
        WORKER_CONCURRENCY: '2',
        WORKER_ID: 'team-web-1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    await eventually(() => expect(output.join('')).toContain('worker pool started'), 20_000);

    const directory = new PresenceDirectory(nc, subjects);
    const entries = (await directory.list()).filter((e) => e.service === 'worker');
    expect(entries).toEqual([expect.objectContaining({ instance: 'team-web-1', capabilities: ['queue:web-checks'] })]);

    const runId = `run-${uuidv7()}`;
    const id = uuidv7();
    await publishEvent(
      jetstream(nc),
      subjects,
      {
        specversion: '1.0',
        id,
        source: 'steward.executor',
        type: 'step.queued',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        dataschemaversion: 1,
        streamid: `run-${runId}`,
        streamversion: 2,
        correlationid: runId,
        data: {
          runId,
          workflowId: 'checkout-probe',
          stepId: 'probe',
          version: 1,
          attempt: 1,
          kind: 'task',
          target: { service: 'worker', queue: 'web-checks' },
          spec: { handler: 'checkout-probe', queue: 'web-checks', memoryMb: 96 },
          input: { inputs: {}, outputs: {} },
          timeouts: { startToCloseMs: 30_000 },
          queuedAt: new Date().toISOString(),
        },
      },
      new EventRegistry(allEvents),
    );
    const result = await eventually(() => {
      const r = results.find((c) => (c.payload as { runId: string }).runId === runId);
      if (!r) throw new Error('no result yet');
      return r.payload as { outcome: { status: string; error?: { code: string } }; usage: { wallMs: number } };
    }, 20_000);
    // The probe fails now and then on purpose (slow_checkout); either way it ran and reported.
    expect(['succeeded', 'failed']).toContain(result.outcome.status);
    if (result.outcome.status === 'failed') expect(result.outcome.error!.code).toBe('slow_checkout');
    expect(result.usage.wallMs).toBeGreaterThan(0);
    sub.unsubscribe();

    proc.kill('SIGTERM');
    const code = await new Promise((r) => proc!.once('exit', r));
    expect(code).toBe(0);
  });
});
