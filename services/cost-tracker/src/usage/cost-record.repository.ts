import type { Queryable } from '@steward/event-store';
import type { RateSource } from '../domain/cost.price';

/** One row of cost_records: usage, the price it was costed at, the amount and who it is attributed to. */
export interface CostRecord {
  sourceEventId: string;
  line: number;
  eventType: string;
  occurredAt: Date;
  period: string;
  day: string;
  resource: string;
  unit: string;
  quantity: string;
  durationMs: number | null;
  rateMicros: string | null;
  rateSource: RateSource;
  priceMatch: string | null;
  priceFrom: Date | null;
  amountMicros: bigint;
  workflowId: string | null;
  workflowVersion: number | null;
  runId: string | null;
  stepId: string | null;
  service: string;
  queue: string | null;
  owner: string | null;
  environment: string;
}

export class CostRecordRepository {
  /**
   * Inserts the records; a key (source event id, line) already present is
   * skipped, so a usage event that gets past the inbox twice (a replay into a
   * rebuilt inbox) is still counted once. Returns the records inserted.
   */
  async insert(tx: Queryable, records: readonly CostRecord[], recordedAt: Date): Promise<CostRecord[]> {
    if (records.length === 0) return [];
    const col = <T>(f: (r: CostRecord) => T) => records.map(f);
    const { rows } = await tx.query<{ source_event_id: string; line: number }>({
      name: 'cost_records_insert',
      text: `INSERT INTO cost_records (source_event_id, line, event_type, occurred_at, period, resource, unit, quantity, duration_ms, rate_micros, rate_source,
                                       price_match, price_from, amount_micros, workflow_id, workflow_version, run_id, step_id, service, queue, owner, environment, recorded_at)
             SELECT u.*, $23::timestamptz FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::bigint[],
                                   $10::numeric[], $11::text[], $12::text[], $13::timestamptz[], $14::bigint[], $15::text[], $16::int[], $17::text[], $18::text[],
                                   $19::text[], $20::text[], $21::text[], $22::text[]) AS u
             ON CONFLICT (source_event_id, line) DO NOTHING
             RETURNING source_event_id, line`,
      values: [
        col((r) => r.sourceEventId),
        col((r) => r.line),
        col((r) => r.eventType),
        col((r) => r.occurredAt),
        col((r) => r.period),
        col((r) => r.resource),
        col((r) => r.unit),
        col((r) => r.quantity),
        col((r) => r.durationMs),
        col((r) => r.rateMicros),
        col((r) => r.rateSource),
        col((r) => r.priceMatch),
        col((r) => r.priceFrom),
        col((r) => r.amountMicros.toString()),
        col((r) => r.workflowId),
        col((r) => r.workflowVersion),
        col((r) => r.runId),
        col((r) => r.stepId),
        col((r) => r.service),
        col((r) => r.queue),
        col((r) => r.owner),
        col((r) => r.environment),
        recordedAt,
      ],
    });
    if (rows.length === records.length) return [...records];
    const inserted = new Set(rows.map((r) => `${r.source_event_id}/${r.line}`));
    return records.filter((r) => inserted.has(`${r.sourceEventId}/${r.line}`));
  }

  /** Stored event volume: events per emitting service and UTC day. */
  async countEvents(tx: Queryable, counts: ReadonlyMap<string, number>): Promise<void> {
    if (counts.size === 0) return;
    const keys = [...counts.keys()].sort();
    await tx.query({
      name: 'cost_event_volume_add',
      text: `INSERT INTO cost_event_volume (source, day, events)
             SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[])
             ON CONFLICT (source, day) DO UPDATE SET events = cost_event_volume.events + EXCLUDED.events`,
      values: [keys.map((k) => k.split('|')[0]), keys.map((k) => k.split('|')[1]), keys.map((k) => counts.get(k))],
    });
  }
}
