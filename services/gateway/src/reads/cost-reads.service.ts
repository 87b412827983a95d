import { ValidationError } from '@steward/contracts';
import type { ReadModelGate } from '../operator/read-model.gate';
import type { CostGroup, CostReadsRepository, WeeklyPerformanceRow } from './cost-reads.repository';

/** Exact micro-USD (bigint as text) to a USD decimal string: "1234567" -> "1.234567", "40000000" -> "40.00". */
export function usdOf(micros: string | null | undefined): string | null {
  if (micros === null || micros === undefined) return null;
  const n = BigInt(micros);
  const negative = n < 0n;
  const abs = negative ? -n : n;
  const frac = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${abs / 1_000_000n}.${frac}`;
}

/** a / b micros rounded half to even (ratios of money, such as cost per run). */
function divideMicros(a: bigint, b: bigint): bigint {
  const q = a / b;
  const r = a % b;
  return 2n * r > b || (2n * r === b && q % 2n === 1n) ? q + 1n : q;
}

function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decodeCursor<T>(cursor: string, check: (v: any) => boolean): T {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(v)) return v as T;
  } catch {
    // reported below
  }
  throw new ValidationError('query.cursor is not a cursor this list handed out', [{ path: 'query.cursor', message: 'unknown cursor' }]);
}

/**
 * Answers the cost, budget and price reads from the cost tracker's tables.
 * Money is exact: `*Micros` fields are integer micro-USD as strings, `*Usd`
 * fields the same amount as a decimal string. Before the cost tracker ever
 * started there are no tables: the read-model gate's "not running" answer,
 * never an empty list that looks real.
 */
export class CostReadsService {
  constructor(
    private readonly repository: CostReadsRepository,
    private readonly gate: ReadModelGate,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `limit`: the most expensive groups only; the total still covers every group. */
  async report(by: CostGroup, sinceMs: number, since: string, limit?: number) {
    const from = new Date(this.now().getTime() - sinceMs);
    const rows = await this.read('costs', () => this.repository.costsBy(by, from));
    const total = rows.reduce((a, r) => a + BigInt(r.total_micros), 0n);
    const items = rows.slice(0, limit ?? rows.length).map((r) => {
      const cost = BigInt(r.total_micros);
      return {
        key: r.key,
        costMicros: r.total_micros,
        usd: usdOf(r.total_micros),
        runs: r.runs,
        records: r.records,
        ...(r.runs > 0 && { usdPerRun: usdOf(divideMicros(cost, BigInt(r.runs)).toString()) }),
        ...(r.budget_micros !== null && {
          budgetMicros: r.budget_micros,
          budgetUsd: usdOf(r.budget_micros),
          monthSpentMicros: r.month_spent_micros ?? '0',
          // Share of this month's budget spent so far (a ratio, not money).
          budgetUsed: Number(BigInt(r.month_spent_micros ?? '0') * 10_000n / BigInt(r.budget_micros)) / 10_000,
        }),
      };
    });
    const performance = by === 'workflow' ? (await this.repository.weeklyPerformance(from)).map(performanceItem) : undefined;
    return { by, since, from: from.toISOString(), to: this.now().toISOString(), items, totalMicros: total.toString(), totalUsd: usdOf(total.toString()), ...(performance && { performance }) };
  }

  async budgets(q: { cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    const after = q.cursor === undefined ? undefined : decodeCursor<{ scope: string; id: string }>(q.cursor, (v) => typeof v?.scope === 'string' && typeof v?.id === 'string');
    const rows = await this.read('budgets', () => this.repository.budgets(after, limit + 1));
    const items = rows.slice(0, limit).map((r) => ({
      scope: r.scope,
      id: r.id,
      period: r.period,
      monthlyMicros: r.monthly_micros,
      monthlyUsd: usdOf(r.monthly_micros),
      spentMicros: r.spent_micros,
      spentUsd: usdOf(r.spent_micros),
      ...(r.forecast_micros !== null && {
        forecast: { micros: r.forecast_micros, usd: usdOf(r.forecast_micros), lowUsd: usdOf(r.low_micros), highUsd: usdOf(r.high_micros), computedAt: r.forecast_at?.toISOString() },
      }),
      thresholds: r.thresholds.map((t) => ({ ...t, state: r.states?.[t.percent !== undefined ? `${t.kind}:${t.percent}%` : `${t.kind}:$${t.amountMicros}`] ?? 'OK' })),
      origin: r.origin,
      setAt: r.set_at.toISOString(),
    }));
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return { items, ...(last !== undefined && { next: encodeCursor({ scope: last.scope, id: last.id }) }) };
  }

  async prices(q: { cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    const after = q.cursor === undefined ? undefined : decodeCursor<{ match: string; unit: string; from: string }>(q.cursor, (v) => typeof v?.match === 'string' && typeof v?.unit === 'string' && typeof v?.from === 'string');
    const rows = await this.read('prices', () => this.repository.prices(after, limit + 1));
    const items = rows.slice(0, limit).map((r) => ({
      match: r.match,
      ...(r.unit !== '' && { unit: r.unit }),
      rateMicros: r.rate_micros,
      // USD per unit, exact: the micro rate shifted six places.
      usd: usdPerUnit(r.rate_micros),
      effectiveFrom: r.from_at.toISOString(),
      ...(r.description !== null && { description: r.description }),
      appliedAt: r.applied_at.toISOString(),
    }));
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return { items, ...(last !== undefined && { next: encodeCursor({ match: last.match, unit: last.unit, from: last.from_at.toISOString() }) }) };
  }

  private async read<T>(readModel: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      // undefined_table: the cost tracker has not created its tables in this database yet.
      if ((err as { code?: string }).code === '42P01') return this.gate.unavailable('cost-tracker', readModel);
      throw err;
    }
  }
}

/** A micro-USD rate ("1.5") as exact USD per unit ("0.0000015"). */
export function usdPerUnit(rateMicros: string): string {
  const [int = '0', frac = ''] = rateMicros.split('.');
  const digits = `${int.padStart(7, '0')}${frac}`;
  const whole = digits.slice(0, -6 - frac.length).replace(/^0+(?=\d)/, '');
  const rest = digits.slice(-6 - frac.length).replace(/0+$/, '');
  return rest === '' ? whole : `${whole}.${rest}`;
}

function performanceItem(r: WeeklyPerformanceRow) {
  const cost = BigInt(r.cost_micros);
  const rows = Number(r.rows);
  return {
    workflow: r.workflow_id,
    week: r.week,
    costMicros: r.cost_micros,
    usd: usdOf(r.cost_micros),
    runs: r.runs,
    succeeded: r.succeeded,
    successRate: r.runs > 0 ? r.succeeded / r.runs : null,
    usdPerSuccessfulRun: r.succeeded > 0 ? usdOf(divideMicros(cost, BigInt(r.succeeded)).toString()) : null,
    rows,
    // Per row can be a fraction of a micro: micro-USD per row with three decimals.
    microsPerRow: rows > 0 ? (Number(cost) / rows).toFixed(3) : null,
    p50DurationMs: r.p50_duration_ms,
  };
}
