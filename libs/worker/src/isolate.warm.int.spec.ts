import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from './handler.define';
import { WarmIsolatePool, type TaskProcessEvent, type WarmIsolateOptions } from './isolate.warm';
import type { AttemptReport, IsolatedAttempt } from './task.isolate';

// Warm isolation without NATS: the pool of task processes alone, attempt by
// attempt, for every guarantee a forked attempt gives.
const FIXTURES = join(__dirname, '..', 'fixtures', 'handlers');
const WARM = join(__dirname, '..', 'fixtures', 'warm-handlers', 'warm.handler.js');
const RESOURCE = join(FIXTURES, 'resource.handler.js');
const SECRET = 'sk-live-5e4d3c2b1a09';

interface Logged {
  level: string;
  msg: string;
  fields: JsonObject;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('warm isolation', () => {
  const pools: WarmIsolatePool[] = [];
  const stray: Logged[] = [];
  const processEvents: TaskProcessEvent[] = [];
  let seq = 0;

  beforeEach(() => {
    processEvents.length = 0;
  });

  const newPool = (options: WarmIsolateOptions = {}): WarmIsolatePool => {
    const pool = new WarmIsolatePool({
      maxIdle: 2,
      onStrayLog: (level, msg, fields) => stray.push({ level, msg, fields }),
      onProcess: (event) => processEvents.push(event),
      ...options,
    });
    pools.push(pool);
    return pool;
  };
  const attempt = (modulePath: string, handler: string, o: Partial<IsolatedAttempt> & { inputs?: JsonObject; logs?: Logged[] } = {}): IsolatedAttempt => {
    const runId = `run-${++seq}`;
    return {
      modulePath,
      handler,
      input: { inputs: o.inputs ?? {}, outputs: {} },
      identity: { runId, stepId: 'work', workflowId: 'warm-tests', attempt: 1 },
      memoryMb: 256,
      timeoutMs: 20_000,
      killGraceMs: 300,
      sampleIntervalMs: 20,
      onLog: (level, msg, fields) => o.logs?.push({ level, msg, fields }),
      ...o,
    };
  };
  const pidOf = (report: AttemptReport): number => {
    expect(report.outcome).toMatchObject({ status: 'succeeded' });
    return (report.outcome as unknown as { outputs: { pid: number } }).outputs.pid;
  };

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('runs attempts one after another in a pre-started process, keeps module state, and replaces it after maxAttempts', async () => {
    const pool = newPool({ maxAttempts: 3, maxIdle: 1 });
    pool.prestart([WARM], 256);
    const [prestarted] = pool.pids();
    const reports: AttemptReport[] = [];
    for (let i = 0; i < 4; i++) reports.push(await pool.run(attempt(WARM, 'counter')));
    const outputs = reports.map((r) => (r.outcome as unknown as { outputs: { count: number; pid: number } }).outputs);
    expect(outputs.slice(0, 3)).toEqual([1, 2, 3].map((count) => ({ count, pid: prestarted })));
    // The fourth attempt ran in a fresh process (started when the third ended): module state is gone.
    expect(outputs[3]!.count).toBe(1);
    expect(outputs[3]!.pid).not.toBe(prestarted);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(prestarted!)).toBe(false);
    expect(pool.size).toBe(1);
    expect(processEvents).toEqual(['started', 'max_attempts', 'started']);
  });

  it('reports outputs, logs, heartbeats and reported usage of each attempt to that attempt', async () => {
    const pool = newPool();
    const echo = join(FIXTURES, 'echo.handler.js');
    const logs: Logged[] = [];
    let heartbeats = 0;
    const report = await pool.run(attempt(echo, 'echo', { inputs: { supplier: 'acme' }, logs, onHeartbeat: () => heartbeats++ }));
    expect(report.outcome).toMatchObject({ status: 'succeeded', outputs: { echoed: { supplier: 'acme' }, attempt: 1 } });
    expect(report.reportedUsage).toEqual([{ provider: 'example-api', endpoint: '/echo', units: 3, unit: 'requests', costUsd: 0.003 }]);
    expect(logs).toEqual([{ level: 'info', msg: 'echoing', fields: { keys: ['supplier'] } }]);
    expect(heartbeats).toBe(1);
  });

  it('kills a process whose attempt outlives its time limit, reports timeout and runs the next attempt in a new process', async () => {
    const pool = newPool({ maxIdle: 2 });
    const before = pidOf(await pool.run(attempt(WARM, 'counter')));
    const marker = join(mkdtempSync(join(tmpdir(), 'warm-')), 'done');
    const report = await pool.run(attempt(RESOURCE, 'sleeper', { inputs: { ms: 15_000, marker }, timeoutMs: 600 }));
    expect(report.outcome).toEqual({ status: 'failed', error: { code: 'timeout', message: 'did not finish within 600 ms; killed', retryable: true } });
    expect(report.usage.wallMs).toBeGreaterThanOrEqual(600);
    expect(report.usage.wallMs).toBeLessThan(5_000);
    expect(existsSync(marker)).toBe(false);
    expect(processEvents).toContain('attempt_stopped');
    // The warm counter process was not touched by another module's timeout.
    expect(pidOf(await pool.run(attempt(WARM, 'counter')))).toBe(before);
    const next = await pool.run(attempt(RESOURCE, 'cpu-burner', { inputs: { ms: 10 } }));
    expect(next.outcome.status).toBe('succeeded');
  });

  it('kills an attempt over its memory limit as resource_exhausted and gives the next one a fresh process', async () => {
    const pool = newPool();
    const report = await pool.run(attempt(RESOURCE, 'memory-hog', { memoryMb: 64 }));
    expect(report.outcome).toMatchObject({ status: 'failed', error: { code: 'resource_exhausted', retryable: false } });
    expect((report.outcome as { error: { message: string } }).error.message).toMatch(/memory limit of 64 MB/);
    expect(report.usage.maxRssKb).toBeGreaterThan(64 * 1024);
    const next = await pool.run(attempt(join(FIXTURES, 'echo.handler.js'), 'echo', { memoryMb: 64 }));
    expect(next.outcome.status).toBe('succeeded');
  });

  it('caps the heap of a warm process at the attempt memory limit', async () => {
    const pool = newPool();
    // A watchdog that never samples in time: the V8 heap cap alone must end it.
    const report = await pool.run(attempt(WARM, 'heap-hog', { memoryMb: 96, sampleIntervalMs: 60_000 }));
    expect(report.outcome).toEqual({ status: 'failed', error: { code: 'resource_exhausted', message: 'ran out of its 96 MB heap', retryable: false } });
  });

  it('stops only the attempt over its time limit while others run beside it', async () => {
    const pool = newPool();
    const [slow, busy] = await Promise.all([
      pool.run(attempt(RESOURCE, 'sleeper', { inputs: { ms: 15_000 }, timeoutMs: 300 })),
      pool.run(attempt(RESOURCE, 'cpu-burner', { inputs: { ms: 200 } })),
    ]);
    expect(slow.outcome).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
    expect(busy.outcome.status).toBe('succeeded');
  });

  it('fails only the attempt whose handler calls process.exit or throws outside its promise', async () => {
    const pool = newPool();
    const first = pidOf(await pool.run(attempt(WARM, 'counter')));
    const exited = await pool.run(attempt(WARM, 'exits'));
    expect(exited.outcome).toMatchObject({ status: 'failed', error: { code: 'worker_crashed', retryable: true } });
    expect((exited.outcome as { error: { message: string } }).error.message).toMatch(/exited with code 3/);
    const thrown = await pool.run(attempt(WARM, 'throws-later'));
    expect(thrown.outcome).toMatchObject({ status: 'failed', error: { code: 'worker_crashed', retryable: true } });
    expect((thrown.outcome as { error: { message: string } }).error.message).toContain('uncaught boom');
    expect(processEvents.filter((e) => e === 'exited')).toHaveLength(2);
    // Meanwhile attempts on other processes are unaffected, and the next attempt runs.
    const after = await pool.run(attempt(WARM, 'counter'));
    expect(after.outcome.status).toBe('succeeded');
    expect(pidOf(after)).not.toBe(first);
  });

  it('cancels a running attempt by killing its process', async () => {
    const pool = newPool();
    const controller = new AbortController();
    const marker = join(mkdtempSync(join(tmpdir(), 'warm-')), 'done');
    let pid: number | undefined;
    const running = pool.run(
      attempt(RESOURCE, 'sleeper', {
        inputs: { ms: 15_000, marker },
        signal: controller.signal,
        onHeartbeat: () => {
          pid ??= pool.pids()[0];
          controller.abort('cancelled');
        },
      }),
    );
    const report = await running;
    expect(report.outcome).toEqual({ status: 'failed', error: { code: 'cancelled', message: 'the step was cancelled', retryable: false } });
    await new Promise((r) => setTimeout(r, 100));
    expect(pid).toBeDefined();
    expect(alive(pid!)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('reports cpu and peak memory of each attempt, not of the process so far', async () => {
    const pool = newPool({ maxIdle: 1 });
    const burn = await pool.run(attempt(RESOURCE, 'cpu-burner', { inputs: { ms: 300 } }));
    expect(burn.outcome.status).toBe('succeeded');
    expect(burn.usage.cpuMs).toBeGreaterThanOrEqual(300);
    expect(burn.usage.maxRssKb).toBeGreaterThan(32 * 1024);
    expect(burn.usage.wallMs).toBeGreaterThanOrEqual(300);
    const light = await pool.run(attempt(RESOURCE, 'cpu-burner', { inputs: { ms: 1 } }));
    expect(light.outcome.status).toBe('succeeded');
    // Counted from the process's start it would be at least the burn's; its own 32 MB allocation alone took 157 ms once on a loaded machine.
    expect(light.usage.cpuMs).toBeLessThan(burn.usage.cpuMs);
    expect(light.usage.maxRssKb).toBeGreaterThan(0);
  });

  it('charges a stopped attempt only its own cpu, not what the process spent on the attempts before it', async () => {
    const pool = newPool({ maxIdle: 1 });
    const burn = await pool.run(attempt(RESOURCE, 'cpu-burner', { inputs: { ms: 400 } }));
    expect(burn.usage.cpuMs).toBeGreaterThanOrEqual(400);
    // Same process (warm), stopped by its time limit: no result of its own, so the parent measures it.
    const stopped = await pool.run(attempt(RESOURCE, 'cpu-burner', { inputs: { ms: 60_000 }, timeoutMs: 300 }));
    expect(stopped.outcome).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
    expect(stopped.usage.cpuMs).toBeGreaterThan(0);
    // One thread cannot spend more cpu than the wall time it had; counted from the process's start, it would include the 400 ms above.
    expect(stopped.usage.cpuMs).toBeLessThanOrEqual(stopped.usage.wallMs + 50);
  });

  it('gives the profile to the attempt, never to another profile, and never logs the secret', async () => {
    const pool = newPool({ maxIdle: 2 });
    const logs: Logged[] = [];
    const withSecret = { env: { PRICES_TOKEN: SECRET, REGION: 'eu' }, secrets: [SECRET], logs };
    const a1 = await pool.run(attempt(WARM, 'env-peek', withSecret));
    expect(a1.outcome).toMatchObject({ status: 'succeeded', outputs: { seen: null, token: SECRET, procToken: SECRET } });
    // Another workflow's profile: another process, which has never seen the token.
    const b = await pool.run(attempt(WARM, 'env-peek', { env: { REGION: 'us' }, logs }));
    expect(b.outcome).toMatchObject({ status: 'succeeded', outputs: { seen: null, token: null, procToken: null } });
    expect(pidOf(b)).not.toBe(pidOf(a1));
    // The same profile again reuses its process (module state persists there, as documented).
    const a2 = await pool.run(attempt(WARM, 'env-peek', withSecret));
    expect(pidOf(a2)).toBe(pidOf(a1));
    // Secrets in output are scrubbed.
    const secretUser = join(FIXTURES, 'secret.handler.js');
    const failed = await pool.run(attempt(secretUser, 'secret-user', { ...withSecret, inputs: { fail: true } }));
    expect(failed.outcome).toMatchObject({ status: 'failed', error: { code: 'handler_error', message: 'auth failed for [REDACTED]' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(logs.some((l) => l.msg.includes('connecting with [REDACTED]'))).toBe(true);
    expect(JSON.stringify(logs) + JSON.stringify(stray)).not.toContain(SECRET);
  });

  it('replaces a process whose resident memory grew past half its limit', async () => {
    const pool = newPool({ maxIdle: 1 });
    const first = pidOf(await pool.run(attempt(WARM, 'grow', { inputs: { mb: 8 }, memoryMb: 128 })));
    expect(pidOf(await pool.run(attempt(WARM, 'grow', { inputs: { mb: 8 }, memoryMb: 128 })))).toBe(first);
    const grown = pidOf(await pool.run(attempt(WARM, 'grow', { inputs: { mb: 64 }, memoryMb: 128 })));
    expect(grown).toBe(first);
    expect(pidOf(await pool.run(attempt(WARM, 'grow', { inputs: { mb: 1 }, memoryMb: 128 })))).not.toBe(first);
    expect(processEvents).toContain('memory_grew');
  });

  it('logs what a process says between attempts apart from the next attempt', async () => {
    const pool = newPool({ maxIdle: 1 });
    const logs: Logged[] = [];
    const late = attempt(WARM, 'late-logger', { logs });
    const runId = late.identity.runId;
    await pool.run(late);
    await new Promise((r) => setTimeout(r, 400));
    const next: Logged[] = [];
    await pool.run(attempt(WARM, 'counter', { logs: next }));
    expect(next).toEqual([]);
    expect(logs.filter((l) => l.msg.includes(runId))).toEqual([]);
    expect(stray).toEqual(
      expect.arrayContaining([
        { level: 'info', msg: `late line ${runId}`, fields: { stream: 'stdout', between_attempts: true } },
        { level: 'info', msg: `late ctx log ${runId}`, fields: { leftover_of_attempt: 1, between_attempts: true } },
      ]),
    );
  });

  it('answers an attempt cancelled before it starts without a process, and refuses bad settings', async () => {
    const pool = newPool();
    const controller = new AbortController();
    controller.abort('cancelled');
    const report = await pool.run(attempt(WARM, 'counter', { signal: controller.signal }));
    expect(report.outcome).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect(() => new WarmIsolatePool({ maxAttempts: 0 })).toThrow(/maxAttempts must be a positive integer/);
  });
});
