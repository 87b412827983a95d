import { copyLine, copyRows, type Queryable } from '@steward/event-store';
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

const COLUMNS = [
  'source_event_id', 'line', 'event_type', 'occurred_at', 'period', 'resource', 'unit', 'quantity', 'duration_ms', 'rate_micros', 'rate_source',
  'price_match', 'price_from', 'amount_micros', 'workflow_id', 'workflow_version', 'run_id', 'step_id', 'service', 'queue', 'owner', 'environment', 'recorded_at',
];

const UNIQUE_VIOLATION = '23505';

export class CostRecordRepository {
  /**
   * Writes the records with one COPY and returns those written. A record
   * whose key (source event id, line) is already stored is left out, so an
   * event that gets past the inbox again (a replay into a rebuilt inbox) is
   * counted once: COPY cannot skip a key, so it runs after a savepoint, and
   * only when it hits one does the batch read which of its keys are stored
   * and copy the rest. The inbox row each event claimed first keeps another
   * replica from storing the same keys in between.
   */
  async insert(tx: Queryable, records: readonly CostRecord[], recordedAt: Date): Promise<CostRecord[]> {
    if (records.length === 0) return [];
    try {
      await copyRows(tx, 'cost_records', COLUMNS, copyBody(records, recordedAt), { savepoint: 'cost_records_copy' });
      return [...records];
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT cost_records_copy');
    }
    const stored = await this.storedKeys(tx, [...new Set(records.map((r) => r.sourceEventId))]);
    const fresh = records.filter((r) => !stored.has(`${r.sourceEventId}/${r.line}`));
    await copyRows(tx, 'cost_records', COLUMNS, copyBody(fresh, recordedAt));
    return fresh;
  }

  /** `sourceEventId/line` of the records stored for these events. */
  private async storedKeys(tx: Queryable, eventIds: string[]): Promise<Set<string>> {
    const { rows } = await tx.query<{ source_event_id: string; line: number }>({
      name: 'cost_records_stored',
      // A primary-key probe per event (OFFSET 0 keeps the planner from scanning the table instead).
      text: 'SELECT k.id AS source_event_id, c.line FROM unnest($1::uuid[]) AS k(id) CROSS JOIN LATERAL (SELECT line FROM cost_records WHERE source_event_id = k.id OFFSET 0) AS c',
      values: [eventIds],
    });
    return new Set(rows.map((r) => `${r.source_event_id}/${r.line}`));
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

/** toISOString for many records, most of which share a few instants (an event's lines, a price's start). */
function isoMemo(): (d: Date) => string {
  const seen = new Map<number, string>();
  return (d) => {
    const t = d.getTime();
    let text = seen.get(t);
    if (text === undefined) seen.set(t, (text = d.toISOString()));
    return text;
  };
}

/** The records as COPY text, in COLUMNS order. */
function copyBody(records: readonly CostRecord[], recordedAt: Date): string {
  const recorded = recordedAt.toISOString();
  const iso = isoMemo();
  let body = '';
  for (const r of records) {
    body += copyLine([
      r.sourceEventId, r.line, r.eventType, iso(r.occurredAt), r.period, r.resource, r.unit, r.quantity, r.durationMs, r.rateMicros, r.rateSource,
      r.priceMatch, r.priceFrom === null ? null : iso(r.priceFrom), r.amountMicros, r.workflowId, r.workflowVersion, r.runId, r.stepId, r.service,
      r.queue, r.owner, r.environment, recorded,
    ]);
  }
  return body;
}
