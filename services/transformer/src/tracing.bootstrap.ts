// Imported first by main.ts: OpenTelemetry's instrumentations patch `pg` and
// `http` as they are required, so tracing must start before the module graph
// below main.ts loads them. Exports spans only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
import { startTracing } from '@steward/observability';

startTracing({ service: 'transformer' });
