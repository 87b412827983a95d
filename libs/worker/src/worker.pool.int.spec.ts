import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { allEvents, EventRegistry, uuidv7, type EventEnvelope } from '@steward/contracts';
import { publishEvent, type CommandEnvelope } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { eventually, useTestEnvironment } from '@steward/testing';
import { loadHandlers } from './handler.load';
import { DEFAULT_STARTED_REPORT_DELAY_MS } from './task.attempt';
import { WorkerPool } from './worker.pool';

const FIXTURES = join(__dirname, '..', 'fixtures', 'handlers');
const SECRET = 'sk-live-9f8e7d6c5b4a3210';
const registry = new EventRegistry(allEvents);

interface StepOptions {
  workflowId?: string;
  attempt?: number;
  memoryMb?: number;
  timeoutMs?: number;
  queue?: string;
}

function event(type: string, data: Record<string, unknown>, runId: string): EventEnvelope {
  const id = uuidv7();
  return {
    specversion: '1.0',
    id,
    source: 'steward.executor',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschemaversion: 1,
    streamid: `run-${runId}`,
    streamversion: 1,
    correlationid: runId,
    runid: runId,
    data,
  };
}

function stepQueued(runId: string, handler: string, inputs: Record<string, unknown>, o: StepOptions = {}): EventEnvelope {
  const workflowId = o.workflowId ?? 'worker-tests';
  const queue = o.queue ?? 'tasks';
  return event(
    'step.queued',
    {
      runId,
      workflowId,
      stepId: 'work',
      version: 1,
      attempt: o.attempt ?? 1,
      kind: 'task',
      target: { service: 'worker', queue },
      spec: { handler, queue, memoryMb: o.memoryMb ?? 256 },
      input: { inputs, outputs: { fetch: { rows: 3 } } },
      timeouts: { startToCloseMs: o.timeoutMs ?? 20_000 },
      queuedAt: '2026-03-01T10:00:00.000Z',
    },
    runId,
  );
}

describe.each(['warm', 'attempt'] as const)('worker pool (%s isolation)', (isolation) => {
  const env = useTestEnvironment({ label: `worker-${isolation}` });
  const commands: Array<{ name: string; command: CommandEnvelope }> = [];
  const logLines: string[] = [];
  let sub: Subscription;
  let pool: WorkerPool;
  let runSeq = 0;
  const newRun = () => `run-${Date.now().toString(36)}-${++runSeq}`;

  const publish = (envelope: EventEnvelope) => publishEvent(jetstream(env.nats.nc), env.nats.subjects, envelope, registry);
  const commandsOf = (runId: string, name?: string) =>
    commands.filter((c) => (c.command.payload as { runId: string }).runId === runId && (name === undefined || c.name === name));
  const resultOf = (runId: string) =>
    eventually(() => {
      const found = commandsOf(runId, 'report_step_result');
      if (found.length === 0) {
        // What the pool said about this run, so a timeout under load says where the attempt stopped.
        const said = logLines.filter((l) => l.includes(runId) || /"level":"(warn|error)"/.test(l)).slice(-20);
        const sent = commandsOf(runId).map((c) => c.name);
        throw new Error(`no result for ${runId} yet (running ${pool.runningCount}; commands ${JSON.stringify(sent)}; task processes ${processStates()}; log:\n${said.join('\n')})`);
      }
      return found[0]!.command.payload as {
        outcome: { status: string; outputs?: Record<string, unknown>; error?: { code: string; message: string; retryable: boolean } };
        usage: { cpuMs: number; maxRssKb: number; wallMs: number };
        reportedUsage: unknown[];
        attempt: number;
      };
      // Past an attempt's own 20 s limit and kill grace: a task process the machine stalls (seen twice at full CI
      // load: a fresh fork that neither ran nor could be killed for tens of seconds) ends as the pool's timeout.
    }, 35_000);

  /** The kernel's word on each task process (this process's children: state and what it waits in), for a result that does not come. */
  const processStates = (): string => {
    const children: string[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) !== process.pid) continue;
        children.push(`${entry} ${fields[0]} ${readFileSync(`/proc/${entry}/wchan`, 'utf8') || '-'}`);
      } catch {
        // gone meanwhile
      }
    }
    return JSON.stringify(children);
  };

  beforeAll(async () => {
    const { nc, subjects } = env.nats;
    sub = nc.subscribe(subjects.commands('executor'), {
      callback: (_err, msg) => {
        commands.push({ name: msg.subject.split('.').pop()!, command: JSON.parse(new TextDecoder().decode(msg.data)) as CommandEnvelope });
      },
    });
    pool = new WorkerPool({
      connection: nc,
      subjects,
      queues: ['tasks', 'other'],
      handlers: loadHandlers([FIXTURES]),
      concurrency: 3,
      workerId: 'test-worker',
      isolation,
      killGraceMs: 300,
      sampleIntervalMs: 20,
      logger: new Logger({ service: 'worker', level: 'debug', write: (line) => logLines.push(line) }),
      profiles: {
        '*': { env: { REGION: 'eu-central' } },
        'secret-wf': { env: { PRICES_TOKEN: { secretRef: 'prices-token' } } },
        'missing-secret-wf': { env: { PRICES_TOKEN: { secretRef: 'not-configured' } } },
      },
      secretSource: { STEWARD_SECRET_PRICES_TOKEN: SECRET },
    });
    await pool.start();
    // Closed before the environment drains NATS (afterAll hooks run in declaration order).
    env.track({
      end: async () => {
        await pool?.close();
        sub?.unsubscribe();
      },
    });
  });

  it(isolation === 'warm' ? 'pre-starts one task process per slot' : 'keeps no task process between attempts', () => {
    // Four fixture modules, three slots: one process each for the first three, round robin.
    expect(pool.taskProcessPids()).toHaveLength(isolation === 'warm' ? 3 : 0);
  });

  it('reports started (its handler heartbeats), then the outputs, usage and reported usage as commands to the executor', async () => {
    const runId = newRun();
    await publish(stepQueued(runId, 'echo', { supplier: 'acme' }));
    const result = await resultOf(runId);
    expect(result.outcome).toEqual({
      status: 'succeeded',
      outputs: { echoed: { supplier: 'acme' }, upstream: { fetch: { rows: 3 } }, attempt: 1, runId, stepId: 'work', workflowId: 'worker-tests' },
    });
    expect(result.reportedUsage).toEqual([{ provider: 'example-api', endpoint: '/echo', units: 3, unit: 'requests', costUsd: 0.003 }]);
    const started = commandsOf(runId, 'report_step_started');
    expect(started.map((c) => c.command.payload)).toEqual([{ runId, stepId: 'work', attempt: 1, workerId: 'test-worker' }]);
    const resultCommand = commandsOf(runId, 'report_step_result')[0]!.command;
    expect(resultCommand).toMatchObject({ service: 'executor', name: 'report_step_result', correlationId: runId, actor: 'worker:test-worker' });
    // The step.queued message is acked once the result is stored.
    await eventually(async () => {
      const info = await env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), 'worker-tasks');
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
    });
  });

  it('reports only the result of a quick attempt that does not heartbeat: the result implies the start', async () => {
    const runId = newRun();
    const sent = Date.now();
    await publish(stepQueued(runId, 'fail-coded', {}));
    await resultOf(runId);
    const took = Date.now() - sent;
    // Past the delay after which a start would have been reported.
    await new Promise((r) => setTimeout(r, 2 * DEFAULT_STARTED_REPORT_DELAY_MS));
    // On a loaded machine a fresh fork alone can outlast the delay: then the start goes first, as it should.
    const expected = took < DEFAULT_STARTED_REPORT_DELAY_MS ? [['report_step_result']] : [['report_step_result'], ['report_step_started', 'report_step_result']];
    expect(expected).toContainEqual(commandsOf(runId).map((c) => c.name));
  });

  it('reports the start of an attempt that runs past the delay, before its result', async () => {
    const runId = newRun();
    // CPU time, so at least this much wall time: just past the delay, no more (a loaded machine stretches it several-fold).
    await publish(stepQueued(runId, 'cpu-burner', { ms: DEFAULT_STARTED_REPORT_DELAY_MS + 50 }));
    await resultOf(runId);
    expect(commandsOf(runId).map((c) => c.name)).toEqual(['report_step_started', 'report_step_result']);
    expect(commandsOf(runId, 'report_step_started')[0]!.command.payload).toEqual({ runId, stepId: 'work', attempt: 1, workerId: 'test-worker' });
  });

  it('gives a redelivered attempt the same command ids, so the executor sees one result', async () => {
    const runId = newRun();
    await publish(stepQueued(runId, 'echo', { n: 1 }));
    await resultOf(runId);
    await publish(stepQueued(runId, 'echo', { n: 1 }));
    await eventually(() => expect(commandsOf(runId, 'report_step_result')).toHaveLength(2));
    const [first, second] = commandsOf(runId, 'report_step_result');
    expect(second!.command.commandId).toBe(first!.command.commandId);
    expect(commandsOf(runId, 'report_step_started').map((c) => c.command.commandId)).toEqual([
      commandsOf(runId, 'report_step_started')[0]!.command.commandId,
      commandsOf(runId, 'report_step_started')[0]!.command.commandId,
    ]);
  });

  it('reports a thrown error with its code and retryability', async () => {
    const coded = newRun();
    const plain = newRun();
    await publish(stepQueued(coded, 'fail-coded', {}));
    await publish(stepQueued(plain, 'throws-string', {}));
    expect((await resultOf(coded)).outcome).toEqual({
      status: 'failed',
      error: { code: 'supplier_rejected', message: 'supplier portal rejected the upload', retryable: false },
    });
    expect((await resultOf(plain)).outcome).toEqual({ status: 'failed', error: { code: 'handler_error', message: 'plain string failure', retryable: true } });
  });

  it('fails a step whose handler this worker does not have as unknown_handler', async () => {
    const runId = newRun();
    await publish(stepQueued(runId, 'no-such-handler', {}, { queue: 'other' }));
    const { outcome } = await resultOf(runId);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'unknown_handler', retryable: false });
  });

  it('kills a handler over its memory limit as resource_exhausted and goes on with the next task', async () => {
    const hog = newRun();
    await publish(stepQueued(hog, 'memory-hog', {}, { memoryMb: 64 }));
    const { outcome, usage } = await resultOf(hog);
    expect(outcome.error).toMatchObject({ code: 'resource_exhausted', retryable: false });
    expect(outcome.error!.message).toMatch(/memory limit of 64 MB/);
    expect(usage.maxRssKb).toBeGreaterThan(64 * 1024);
    const next = newRun();
    await publish(stepQueued(next, 'echo', { after: 'hog' }));
    expect((await resultOf(next)).outcome.status).toBe('succeeded');
  });

  it('reports the result of a task process that never finishes exiting, kills it and frees its slot', async () => {
    const runId = newRun();
    const runningBefore = pool.runningCount;
    await publish(stepQueued(runId, 'exit-hangs', {}));
    const { outcome, usage } = await resultOf(runId);
    expect(outcome).toEqual({ status: 'succeeded', outputs: { returned: true } });
    // Attempt isolation: killed a kill grace after its result (the warm process stays up, as it should).
    expect(usage.wallMs).toBeLessThan(10_000);
    await eventually(() => expect(pool.runningCount).toBeLessThanOrEqual(runningBefore), 5_000);
  });

  it('kills a handler that outlives the step timeout and reports timeout', async () => {
    const runId = newRun();
    const marker = join(mkdtempSync(join(tmpdir(), 'worker-')), 'done');
    await publish(stepQueued(runId, 'sleeper', { ms: 15_000, marker }, { timeoutMs: 800 }));
    const { outcome, usage } = await resultOf(runId);
    expect(outcome.error).toMatchObject({ code: 'timeout', retryable: true });
    expect(usage.wallMs).toBeGreaterThanOrEqual(800);
    expect(usage.wallMs).toBeLessThan(5_000);
    expect(existsSync(marker)).toBe(false);
  });

  it.each(['run.cancelled', 'step.cancelled'])('stops a running task when %s is published', async (type) => {
    const runId = newRun();
    const marker = join(mkdtempSync(join(tmpdir(), 'worker-')), 'done');
    // An attempt the machine stalled in an earlier test may still hold its slot: this one's slot must come back.
    const runningBefore = pool.runningCount;
    await publish(stepQueued(runId, 'sleeper', { ms: 15_000, marker }));
    // Running: it has started and sent a heartbeat.
    await eventually(() => expect(commandsOf(runId, 'heartbeat_step').length).toBeGreaterThan(0));
    const cancelledAt = new Date().toISOString();
    const data =
      type === 'run.cancelled'
        ? { runId, workflowId: 'worker-tests', reason: 'operator', cancelledAt }
        : { runId, workflowId: 'worker-tests', stepId: 'work', reason: 'run_cancelled', cancelledAt };
    await publish(event(type, data, runId));
    const { outcome, usage } = await resultOf(runId);
    expect(outcome.error).toMatchObject({ code: 'cancelled', retryable: false });
    expect(usage.wallMs).toBeLessThan(10_000);
    expect(existsSync(marker)).toBe(false);
    // The result leaves before the slot is released: it frees right after.
    await eventually(() => expect(pool.runningCount).toBeLessThanOrEqual(runningBefore), 5_000);
  });

  it('records cpu time, peak resident memory and wall time of the attempt', async () => {
    const runId = newRun();
    await publish(stepQueued(runId, 'cpu-burner', { ms: 400 }));
    const { outcome, usage } = await resultOf(runId);
    expect(outcome.status).toBe('succeeded');
    expect(usage.cpuMs).toBeGreaterThanOrEqual(400);
    expect(usage.maxRssKb).toBeGreaterThan(32 * 1024);
    expect(usage.wallMs).toBeGreaterThanOrEqual(400);
  });

  it('injects the workflow profile and its secrets into the child, and never logs or reports the secret', async () => {
    const ok = newRun();
    const failing = newRun();
    await publish(stepQueued(ok, 'secret-user', {}, { workflowId: 'secret-wf' }));
    await publish(stepQueued(failing, 'secret-user', { fail: true }, { workflowId: 'secret-wf' }));
    const { outcome } = await resultOf(ok);
    // The worker's STEWARD_SECRET_* variables are not inherited: only the profile's resolved names.
    expect(outcome).toEqual({ status: 'succeeded', outputs: { tokenLength: SECRET.length, region: 'eu-central', sawWorkerEnv: false } });
    const failed = await resultOf(failing);
    expect(failed.outcome.error).toMatchObject({ code: 'handler_error', message: 'auth failed for [REDACTED]' });
    await eventually(() => expect(logLines.filter((l) => l.includes(ok) && l.includes('connecting with'))).toHaveLength(1));
    const handlerLines = logLines.filter((l) => l.includes(ok) || l.includes(failing));
    expect(handlerLines.some((l) => l.includes('using credentials'))).toBe(true);
    expect(handlerLines.some((l) => l.includes('env says'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(SECRET);
    expect(JSON.stringify(commands)).not.toContain(SECRET);
  });

  it('fails the attempt as secret_missing when the worker does not hold a referenced secret', async () => {
    const runId = newRun();
    await publish(stepQueued(runId, 'secret-user', {}, { workflowId: 'missing-secret-wf' }));
    const { outcome } = await resultOf(runId);
    expect(outcome.error).toMatchObject({ code: 'secret_missing', retryable: false });
    expect(outcome.error!.message).toContain('STEWARD_SECRET_NOT_CONFIGURED');
  });
});
