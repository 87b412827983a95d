import type { Metrics } from '@steward/observability';

export type FetchOutcome = 'captured' | 'reused' | 'transient' | 'permanent' | 'limited' | 'disabled';

/** Fetches by source and outcome, bytes kept, and fetch duration. */
export class CollectorMetrics {
  constructor(private readonly metrics: Metrics) {}

  fetched(source: string, kind: string, outcome: FetchOutcome, durationMs: number, bytes = 0): void {
    this.metrics.counter('steward_collector_fetches_total', 'Collect attempts by source, source kind and outcome (captured, reused, transient, permanent, limited, disabled).', ['source', 'kind', 'outcome']).inc({ source, kind, outcome });
    if (bytes > 0) this.metrics.counter('steward_collector_fetched_bytes_total', 'Body bytes captured, by source.', ['source']).inc({ source }, bytes);
    if (outcome === 'reused' || outcome === 'limited' || outcome === 'disabled') return;
    this.metrics
      .histogram('steward_collector_fetch_duration_seconds', 'Time of one fetch (request to last byte, or file read, or handler run).', ['source', 'kind', 'outcome'], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
      .observe({ source, kind, outcome }, durationMs / 1000);
  }
}
