import type { Pool } from 'pg';
import { SourceDisabled, SourceEnabled, type EventData, type EventEnvelope, type EventMetadata, type StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import type { Clock } from '../clock';

export type SourceDisabledData = EventData<typeof SourceDisabled>;
export type SourceEnabledData = EventData<typeof SourceEnabled>;

/**
 * Actors whose `disable_source` is an automated first response: the alerter
 * sends it when a rule's action fires. Only those are undone by
 * `workflow.resumed`; a source an operator disabled stays disabled until an
 * `enable_source`.
 */
export const AUTOMATED_ACTORS: ReadonlySet<string> = new Set(['alerter']);

export const sourceStream = (source: string) => `source-${source}`;

/** `<workflowId>.<stepId>` -> the workflow; a configured source id without a dot has none. */
export function workflowOfSource(source: string): string | undefined {
  const dot = source.indexOf('.');
  return dot > 0 ? source.slice(0, dot) : undefined;
}

/** A disabled source as the collect step sees it. */
export interface DisabledSource {
  source: string;
  reason: string | null;
  disabledBy: string | null;
  automated: boolean;
  disabledAt: Date;
}

interface SourceRow {
  source: string;
  workflow_id: string | null;
  disabled: boolean;
  automated: boolean;
  reason: string | null;
  changed_by: string | null;
  changed_at: Date;
  stream_version: number;
}

/**
 * Whether the collector may fetch a source. Each change is an event on
 * `source-<source>` (appended with the expected version kept in
 * `collector_sources`) and the projection row, in the caller's transaction:
 * the command's inbox transaction, or the `workflow.resumed` one. A change
 * that changes nothing (disable a disabled source) records nothing.
 */
export class SourceSwitch {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  /** The source's disablement, read before each fetch; undefined when it may be fetched. */
  async disabled(source: string): Promise<DisabledSource | undefined> {
    const { rows } = await this.pool.query<SourceRow>('SELECT * FROM collector_sources WHERE source = $1 AND disabled', [source]);
    const r = rows[0];
    return r && { source: r.source, reason: r.reason, disabledBy: r.changed_by, automated: r.automated, disabledAt: r.changed_at };
  }

  async disable(tx: Queryable, input: { source: string; reason?: string | undefined }, metadata: EventMetadata): Promise<StoredEvent[]> {
    const row = await this.lock(tx, input.source);
    if (row?.disabled) return [];
    const workflowId = workflowOfSource(input.source);
    const data: SourceDisabledData = {
      source: input.source,
      ...(workflowId !== undefined && { workflowId }),
      ...(input.reason !== undefined && { reason: input.reason }),
      ...(metadata.actor !== undefined && { disabledBy: metadata.actor }),
      automated: metadata.actor !== undefined && AUTOMATED_ACTORS.has(metadata.actor),
      disabledAt: this.clock.now().toISOString(),
    };
    return this.record(tx, row, { type: SourceDisabled.type, data }, { ...metadata, ...(workflowId !== undefined && { workflowId }) }, {
      disabled: true,
      automated: data.automated,
      reason: data.reason ?? null,
      changedBy: data.disabledBy ?? null,
      at: data.disabledAt,
    });
  }

  async enable(tx: Queryable, input: { source: string; reason?: string | undefined; trigger: SourceEnabledData['trigger'] }, metadata: EventMetadata): Promise<StoredEvent[]> {
    const row = await this.lock(tx, input.source);
    if (!row?.disabled) return [];
    const workflowId = workflowOfSource(input.source);
    const data: SourceEnabledData = {
      source: input.source,
      ...(workflowId !== undefined && { workflowId }),
      ...(input.reason !== undefined && { reason: input.reason }),
      ...(metadata.actor !== undefined && { enabledBy: metadata.actor }),
      trigger: input.trigger,
      enabledAt: this.clock.now().toISOString(),
    };
    return this.record(tx, row, { type: SourceEnabled.type, data }, { ...metadata, ...(workflowId !== undefined && { workflowId }) }, {
      disabled: false,
      automated: false,
      reason: data.reason ?? null,
      changedBy: data.enabledBy ?? null,
      at: data.enabledAt,
    });
  }

  /**
   * The undo of an alert's actions on a workflow (`workflow.resumed`, or the
   * operator's `workflows.resume` request, which the scheduler answers
   * without an event when the workflow was not paused). Every source of it an
   * automated action disabled is enabled again, each `collection.source_enabled`
   * caused by the event that asked for it. Nothing to enable records nothing.
   */
  async onWorkflowResumed(tx: Queryable, workflowId: string, cause: EventEnvelope): Promise<StoredEvent[]> {
    const { rows } = await tx.query<{ source: string }>('SELECT source FROM collector_sources WHERE workflow_id = $1 AND disabled AND automated ORDER BY source', [workflowId]);
    const metadata: EventMetadata = {
      correlationId: cause.correlationid,
      causationId: cause.id,
      workflowId,
      ...(cause.actor !== undefined && { actor: cause.actor }),
      ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
    };
    const out: StoredEvent[] = [];
    for (const r of rows) out.push(...(await this.enable(tx, { source: r.source, reason: `workflow ${workflowId} resumed`, trigger: 'workflow_resumed' }, metadata)));
    return out;
  }

  private async lock(tx: Queryable, source: string): Promise<SourceRow | undefined> {
    const { rows } = await tx.query<SourceRow>('SELECT * FROM collector_sources WHERE source = $1 FOR UPDATE', [source]);
    return rows[0];
  }

  /**
   * Appends with the version the row holds (no_stream for a first change),
   * so two replicas changing a new source at once cannot both win: the
   * loser's transaction fails and its message is redelivered.
   */
  private async record(
    tx: Queryable,
    row: SourceRow | undefined,
    event: { type: string; data: SourceDisabledData | SourceEnabledData },
    metadata: EventMetadata,
    state: { disabled: boolean; automated: boolean; reason: string | null; changedBy: string | null; at: string },
  ): Promise<StoredEvent[]> {
    const source = event.data.source;
    const appended = await this.store.append(sourceStream(source), [{ ...event, metadata }], { expected: row === undefined ? 'no_stream' : row.stream_version, tx });
    await tx.query(
      `INSERT INTO collector_sources (source, workflow_id, disabled, automated, reason, changed_by, changed_at, stream_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (source) DO UPDATE SET disabled = EXCLUDED.disabled, automated = EXCLUDED.automated, reason = EXCLUDED.reason,
         changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at, stream_version = EXCLUDED.stream_version`,
      [source, workflowOfSource(source) ?? null, state.disabled, state.automated, state.reason, state.changedBy, state.at, appended.nextExpectedVersion],
    );
    return appended.events;
  }
}
