import type { Pool } from 'pg';
import { createPool, migrate, unitOfWork, type Queryable } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { BaselinePacer } from './baseline.pacer';
import { BaselineRepository } from './baseline.repository';
import { ensureExecutorSchema } from './executor.migrations';

/** The real repository, counting where each refresh ran. */
class CountingBaselines extends BaselineRepository {
  readonly calls: string[] = [];
  override async refresh(tx: Queryable, workflowId: string, at: string): Promise<void> {
    this.calls.push(at);
    await super.refresh(tx, workflowId, at);
  }
}

describe('BaselinePacer', () => {
  const env = useTestEnvironment({ label: 'baselinepacer', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let n = 0;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    await ensureExecutorSchema(pool);
  });

  /** A succeeded run of `workflow` taking `ms`, committed as a report batch would. */
  async function succeeded(workflow: string, ms: number): Promise<void> {
    const runId = `pace-${++n}`;
    await pool.query(
      `INSERT INTO executor_runs (run_id, workflow_id, version, status, trigger, concurrency_key, requested_at, ended_at, duration_ms, updated_at)
       VALUES ($1, $2, 1, 'succeeded', '{}', $1, now(), now(), $3, now())`,
      [runId, workflow, ms],
    );
  }

  const baseline = async (workflow: string) =>
    (await pool.query<{ samples: number; median: number; at: Date }>(`SELECT samples::int, median_ms::int AS median, updated_at AS at FROM executor_duration_baselines WHERE workflow_id = $1 AND step_id = ''`, [workflow])).rows[0];

  it('refreshes in the batch at most once per interval, and counts the successes in between when it ends', async () => {
    let now = 1_000_000;
    const baselines = new CountingBaselines(50);
    const pacer = new BaselinePacer(pool, baselines, 1_000, (err) => { throw err; }, () => now);
    await succeeded('paced', 100);
    await unitOfWork(pool, (tx) => pacer.refresh(tx, 'paced', '2026-12-03T10:00:01.000Z'));
    expect(await baseline('paced')).toMatchObject({ samples: 1, median: 100 });

    // Within the interval: the batch writes nothing, the refresh follows when the interval ends.
    now += 200;
    await succeeded('paced', 300);
    await unitOfWork(pool, (tx) => pacer.refresh(tx, 'paced', '2026-12-03T10:00:02.000Z'));
    now += 100;
    await succeeded('paced', 500);
    await unitOfWork(pool, (tx) => pacer.refresh(tx, 'paced', '2026-12-03T10:00:03.000Z'));
    expect(baselines.calls).toHaveLength(1);
    expect(await baseline('paced')).toMatchObject({ samples: 1 });
    await eventually(async () => expect(await baseline('paced')).toMatchObject({ samples: 3, median: 300, at: new Date('2026-12-03T10:00:03.000Z') }), 3_000);
    expect(baselines.calls).toHaveLength(2);
  });

  it('runs a waiting refresh at flush (shutdown), and refreshes every batch with an interval of 0', async () => {
    const baselines = new CountingBaselines(50);
    const pacer = new BaselinePacer(pool, baselines, 60_000, (err) => { throw err; });
    await succeeded('flushed', 10);
    await unitOfWork(pool, (tx) => pacer.refresh(tx, 'flushed', '2026-12-03T10:00:01.000Z'));
    await succeeded('flushed', 30);
    await unitOfWork(pool, (tx) => pacer.refresh(tx, 'flushed', '2026-12-03T10:00:02.000Z'));
    expect(await baseline('flushed')).toMatchObject({ samples: 1 });
    await pacer.flush();
    expect(await baseline('flushed')).toMatchObject({ samples: 2, median: 20 });

    const every = new CountingBaselines(50);
    const unpaced = new BaselinePacer(pool, every, 0, (err) => { throw err; });
    for (let i = 0; i < 3; i++) await unitOfWork(pool, (tx) => unpaced.refresh(tx, 'flushed', `2026-12-03T10:00:0${3 + i}.000Z`));
    expect(every.calls).toHaveLength(3);
  });
});
