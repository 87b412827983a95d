// @steward/observability: how every Steward service runs and reports on itself:
// JSON logs with redaction, Prometheus metrics, health, readiness, tracing and bootstrap.
export { Logger, NestJsonLogger } from './logger';
export type { LogLevel, LogFields, LoggerOptions } from './logger';
export { redact, redactString, REDACTED } from './redact';
export { Metrics } from './metrics';
export { HealthModule, READINESS_CHECKS } from './health';
export type { ReadinessCheck, HealthOptions } from './health';
export { bootstrapService } from './service.bootstrap';
export type { ServiceBootstrap } from './service.bootstrap';
export { startTracing, stopTracing } from './tracing';
export type { Tracing, TracingOptions } from './tracing';
export { withMessageSpan, currentTraceparent, currentTraceId } from './trace.context';
export { promtoolCheckMetrics } from './promtool.check';
export type { PromtoolResult } from './promtool.check';
