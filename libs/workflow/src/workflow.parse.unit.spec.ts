import { ValidationError } from '@steward/contracts';
import { hashWorkflow, parseWorkflow, validateWorkflow, type WorkflowDefinition } from './index';

const DESIGN_EXAMPLE = `
id: supplier-prices            # stable id
owner: pricing-team            # routes alerts, shows in the ownership map
runbook: docs/runbooks/supplier-prices.md
schedule: { cron: "*/15 * * * *", timezone: Europe/Berlin, catchup: latest, overlap: skip }
concurrency: 1
timeout: 10m
retry: { maxAttempts: 3, initialDelay: 30s, backoff: 2.0, maxDelay: 30m, jitter: 0.2 }
budget: { monthlyUsd: 40 }
slo: { successRate: 0.99, freshness: 1h }
steps:
  - id: fetch
    collect: { http: { url: "https://portal.example/prices.csv" }, rateLimit: 10/min }
  - id: normalize
    needs: [fetch]
    transform: supplier-prices@2
  - id: approve-large-change
    needs: [normalize]
    when: "outputs.normalize.maxChangePct > 30"
    approval: { approvers: [pricing-team], timeout: 4h }
  - id: publish
    needs: [approve-large-change]
    task: { handler: price-publisher, memoryMb: 256 }
`;

const head = 'id: w\nowner: team\nrunbook: docs/runbooks/w.md\n';

function issuesOf(yaml: string): string[] {
  try {
    parseWorkflow(yaml, 'w.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('the file was accepted');
}

describe('workflow definition: valid files', () => {
  it('parses the example of the design brief into the normalised definition', () => {
    const def = parseWorkflow(DESIGN_EXAMPLE, 'supplier-prices.yaml');
    expect(def).toMatchObject({
      id: 'supplier-prices',
      owner: 'pricing-team',
      runbook: 'docs/runbooks/supplier-prices.md',
      schedule: { kind: 'cron', cron: '*/15 * * * *', timezone: 'Europe/Berlin', catchup: 'latest', catchupCap: 10, overlap: 'skip' },
      concurrency: { limit: 1 },
      timeoutMs: 600_000,
      retry: { maxAttempts: 3, initialDelayMs: 30_000, backoff: 2, maxDelayMs: 1_800_000, jitter: 0.2, nonRetryable: [] },
      budget: { monthlyUsd: 40 },
      slo: { successRate: 0.99, freshnessMs: 3_600_000 },
    });
    expect(def.steps.map((s) => [s.id, s.kind, s.needs])).toEqual([
      ['fetch', 'collect', []],
      ['normalize', 'transform', ['fetch']],
      ['approve-large-change', 'approval', ['normalize']],
      ['publish', 'task', ['approve-large-change']],
    ]);
    expect(def.steps[0]).toMatchObject({ collect: { source: { kind: 'http', url: 'https://portal.example/prices.csv', method: 'GET' }, rateLimit: { count: 10, perMs: 60_000 } } });
    expect(def.steps[1]).toMatchObject({ transform: { name: 'supplier-prices', version: 2 } });
    expect(def.steps[2]).toMatchObject({ when: 'outputs.normalize.maxChangePct > 30', timeoutMs: 14_400_000, approval: { approvers: ['pricing-team'], onTimeout: 'fail' } });
    expect(def.steps[3]).toMatchObject({ timeoutMs: 600_000, task: { handler: 'price-publisher', queue: 'default', memoryMb: 256 } });
  });

  it('fills in the retry defaults (3 retries at 30 s, 5 min, 30 min) and merges step overrides', () => {
    const def = parseWorkflow(`${head}steps:\n  - id: a\n    retry: { maxAttempts: 5, nonRetryable: [bad_credentials] }\n    task: { handler: h, timeout: 2m, heartbeat: 10s }\n`);
    expect(def.retry).toEqual({ maxAttempts: 3, initialDelayMs: 30_000, backoff: 10, maxDelayMs: 1_800_000, jitter: 0.2, nonRetryable: [] });
    expect(def.steps[0]).toMatchObject({ timeoutMs: 120_000, retry: { maxAttempts: 5, initialDelayMs: 30_000, nonRetryable: ['bad_credentials'] }, task: { heartbeatMs: 10_000 } });
  });

  it('accepts every schedule kind, kebab- or snake-case overlap policies, and keeps `on` a key', () => {
    const kinds: Array<[string, unknown]> = [
      ['{ cron: "0 6 * * 1-5", timezone: America/New_York, catchup: all, catchupCap: 3, overlap: buffer-one, jitter: 2m }', { kind: 'cron', timezone: 'America/New_York', catchup: 'all', catchupCap: 3, overlap: 'buffer_one', jitterMs: 120_000 }],
      ['{ cron: "@daily" }', { kind: 'cron', timezone: 'UTC', catchup: 'latest', overlap: 'skip' }],
      ['{ every: 5m, phase: 1m, overlap: cancel_previous }', { kind: 'interval', everyMs: 300_000, phaseMs: 60_000, overlap: 'cancel_previous' }],
      ['{ on: collection.raw_captured, where: { source: supplier-portal } }', { kind: 'event', on: 'collection.raw_captured', where: { source: 'supplier-portal' }, overlap: 'allow' }],
      ['{ at: 2026-12-01T10:00:00+01:00 }', { kind: 'once', at: '2026-12-01T09:00:00.000Z' }],
    ];
    for (const [yaml, expected] of kinds) {
      expect(parseWorkflow(`${head}schedule: ${yaml}\nsteps:\n  - id: a\n    task: { handler: h }\n`).schedule).toMatchObject(expected as object);
    }
  });

  it('accepts concurrency as a number or { limit, key } and declared inputs', () => {
    const def = parseWorkflow(`${head}concurrency: { limit: 2, key: inputs.region }\ninputs:\n  region: { type: string, default: eu }\nsteps:\n  - id: a\n    collect: { file: { glob: "in/*.csv" } }\n`);
    expect(def.concurrency).toEqual({ limit: 2, key: 'inputs.region' });
    expect(def.inputs).toEqual({ region: { type: 'string', required: false, default: 'eu' } });
    expect(def.steps[0]).toMatchObject({ collect: { source: { kind: 'file', glob: 'in/*.csv' } } });
  });

  it('hashes the meaning, not the text: comments, order and spelled-out defaults do not change it', () => {
    const a = parseWorkflow(DESIGN_EXAMPLE);
    const reordered = DESIGN_EXAMPLE.replace('owner: pricing-team            # routes alerts, shows in the ownership map\n', '')
      .replace('id: supplier-prices            # stable id\n', 'owner: pricing-team\nid: supplier-prices\n')
      .replace('task: { handler: price-publisher, memoryMb: 256 }', 'task: { memoryMb: 256, handler: price-publisher, queue: default }');
    expect(hashWorkflow(parseWorkflow(reordered))).toBe(hashWorkflow(a));
    expect(hashWorkflow(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashWorkflow(parseWorkflow(DESIGN_EXAMPLE.replace('monthlyUsd: 40', 'monthlyUsd: 41')))).not.toBe(hashWorkflow(a));
  });

  it('validates already-decoded JSON the same way', () => {
    const def: WorkflowDefinition = validateWorkflow({ id: 'w', owner: 'o', runbook: 'r', steps: [{ id: 'a', task: { handler: 'h' } }] });
    expect(def.steps[0]!.kind).toBe('task');
  });
});

describe('workflow definition: every problem at once, with its exact path', () => {
  it('reports the design brief example error exactly', () => {
    const yaml = `${head}steps:\n  - id: a\n    task: { handler: h }\n  - id: b\n    task: { handler: h }\n  - id: c\n    retry: { maxAttempts: three }\n    task: { handler: h }\n`;
    expect(issuesOf(yaml)).toEqual(['steps[2].retry.maxAttempts: expected a positive integer, got "three"']);
  });

  it('lists schema, reference, cycle and expression problems in one error, in file order', () => {
    const yaml = `id: Supplier Prices
owner: pricing-team
runbok: docs/x.md
schedule: { cron: "*/15 * * *", timezone: Europe/Berlinn, catchup: sometimes }
steps:
  - id: fetch
    needs: [publish]
    collect: { http: { url: "ftp://portal" } }
  - id: normalize
    needs: [fetch]
    transform: prices
  - id: check
    needs: [normalize]
    when: "outputs.normalize.x > (3"
    task: { handler: h, memoryMb: 8 }
  - id: publish
    needs: [chek, check]
    task: { handler: h }
    approval: { approvers: [] }
`;
    let error: ValidationError | undefined;
    try {
      parseWorkflow(yaml, 'prices.yaml');
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error!.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'id: expected a workflow id (lowercase letters, digits, - and _, starting with a letter, at most 63), got "Supplier Prices"',
      'runbok: unknown key (expected one of id, owner, runbook, description, schedule, concurrency, timeout, retry, budget, slo, inputs, steps)',
      'schedule.cron: cannot parse cron pattern: expected 5 fields (minute hour day-of-month month day-of-week), got 4',
      'schedule.timezone: expected an IANA time zone such as Europe/Berlin, got "Europe/Berlinn"',
      'schedule.catchup: expected one of skip, latest, all, got "sometimes"',
      'steps[0].needs: cycle: fetch -> publish -> check -> normalize -> fetch',
      'steps[0].collect.http.url: expected an http(s) URL, got "ftp://portal"',
      'steps[1].transform: expected name@version, such as supplier-prices@2, got "prices"',
      'steps[2].when: cannot parse: expected \')\' but found \'end of expression\' at column 25',
      'steps[2].task.memoryMb: expected a memory limit in MB from 16 to 65536, got 8',
      'steps[3]: expected exactly one of collect, transform, task, approval, got task and approval',
      'steps[3].needs[0]: unknown step "chek" (did you mean "check"?)',
      'steps[3].approval.approvers: expected at least one approver, got []',
      'runbook: missing: expected a runbook link or path (non-empty text of at most 500 characters)',
    ]);
    expect(error!.issues[0]).toMatchObject({ line: 1, column: 5 });
    expect(error!.message).toMatch(/^prices.yaml is invalid \(14 problems\):\n {2}id: /);
    expect(error!.context).toMatchObject({ file: 'prices.yaml' });
  });

  it('names each cycle once, and a self-dependency', () => {
    const yaml = `${head}steps:\n  - id: a\n    needs: [b]\n    task: { handler: h }\n  - id: b\n    needs: [a]\n    task: { handler: h }\n  - id: c\n    needs: [c]\n    task: { handler: h }\n`;
    expect(issuesOf(yaml)).toEqual(['steps[0].needs: cycle: a -> b -> a', 'steps[2].needs[0]: step "c" cannot need itself']);
  });

  it('refuses duplicate step ids and conditions that read steps that may not have run', () => {
    const yaml = `${head}steps:\n  - id: a\n    task: { handler: h }\n  - id: b\n    when: "outputs.a.ok"\n    task: { handler: h }\n  - id: a\n    task: { handler: h }\n`;
    expect(issuesOf(yaml)).toEqual([
      'steps[1].when: reads outputs.a, but "b" does not need "a" (directly or through its needs), so it may not have run yet',
      'steps[2].id: duplicate step id "a" (already used by steps[0])',
    ]);
  });

  it('checks durations, schedules, kinds and step options', () => {
    expect(issuesOf(`${head}timeout: soon\nsteps:\n  - id: a\n    task: { handler: h }\n`)).toEqual(['timeout: expected a duration such as 30s, 5m, 4h or 1d, got "soon"']);
    expect(issuesOf(`${head}schedule: { every: 5m, cron: "* * * * *" }\nsteps:\n  - id: a\n    task: { handler: h }\n`)).toEqual(['schedule: expected exactly one of cron, every, on, at, got cron and every']);
    expect(issuesOf(`${head}schedule: { every: 5m, timezone: UTC }\nsteps:\n  - id: a\n    task: { handler: h }\n`)).toEqual(['schedule.timezone: unknown key']);
    expect(issuesOf(`${head}schedule: { cron: "61 * * * *", overlap: sometimes }\nsteps:\n  - id: a\n    task: { handler: h }\n`)).toEqual([
      'schedule.cron: cannot parse cron pattern: Invalid value for minute: 61',
      'schedule.overlap: expected one of skip, buffer_one, buffer_all, cancel_previous, allow, got "sometimes"',
    ]);
    expect(issuesOf(`${head}schedule: { at: tomorrow }\nsteps:\n  - id: a\n    task: { handler: h }\n`)).toEqual([
      'schedule.at: expected an ISO 8601 date-time with a zone, such as 2026-12-01T09:00:00Z, got "tomorrow"',
    ]);
    expect(issuesOf(`${head}steps:\n  - id: a\n`)).toEqual(['steps[0]: expected exactly one of collect, transform, task, approval, got none']);
    expect(issuesOf(`${head}steps: []\n`)).toEqual(['steps: expected at least one step, got []']);
    expect(issuesOf(`${head}steps:\n  - id: a\n    collect: { rateLimit: fast, handler: h }\n`)).toEqual(['steps[0].collect.rateLimit: expected a rate such as 10/min, 5/s or 100/h, got "fast"']);
    expect(issuesOf(`${head}concurrency: { limit: 2, key: outputs.a.x }\nsteps:\n  - id: a\n    task: { handler: h }\n`)).toEqual([
      'concurrency.key: a concurrency key can read only inputs (no step has run when a run is admitted)',
    ]);
  });

  it('says what was found where a relation between fields is wrong', () => {
    expect(issuesOf(`${head}schedule: { every: 5m, phase: 10m }\nretry: { initialDelay: 5m, maxDelay: 1m }\nsteps:\n  - id: a\n    timeout: 1m\n    approval: { approvers: [x] }\n`)).toEqual([
      'schedule.phase: expected a phase shorter than the interval (5m), got 10m',
      'retry.maxDelay: expected a maxDelay at least as long as initialDelay (5m), got 1m',
      'steps[0].timeout: an approval step takes no step timeout (use approval.timeout)',
    ]);
    expect(issuesOf(`${head}concurrency: "3"\ninputs:\n  n: { type: integer, default: 1.5 }\nsteps:\n  - id: a\n    task: { handler: h }\n`)).toEqual([
      'concurrency: expected a positive integer or { limit, key }, got "3"',
      'inputs.n.default: expected a default of type integer, got 1.5',
    ]);
  });

  it("keeps a step's scheduleToStart, and refuses one on an approval", () => {
    const wf = parseWorkflow(`${head}steps:\n  - id: a\n    scheduleToStart: 5m\n    collect: { handler: h }\n`);
    expect(wf.steps[0]).toMatchObject({ id: 'a', scheduleToStartMs: 300_000 });
    expect(issuesOf(`${head}steps:\n  - id: a\n    scheduleToStart: 5m\n    approval: { approvers: [x] }\n`)).toEqual([
      'steps[0].scheduleToStart: an approval step takes no scheduleToStart (operators have approval.timeout)',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(issuesOf('id: w\nsteps: [a, b\nowner: x\n')[0]).toMatch(/^\(yaml\): line \d+:\d+: /);
    expect(issuesOf('id: w\nid: v\n')).toEqual([expect.stringMatching(/^\(yaml\): line 2:1: Map keys must be unique/)]);
    expect(issuesOf('')).toEqual(['(root): expected a workflow definition, got an empty document']);
  });

  it('refuses a file larger than 256 KiB before parsing it', () => {
    expect(issuesOf(`${head}description: "${'x'.repeat(300 * 1024)}"\n`)).toEqual(['(root): expected a file of at most 256 KiB']);
  });
});
