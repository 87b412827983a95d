// @steward/observability: what every Steward service emits about itself,
// JSON logs with secret redaction, Prometheus metrics, health and readiness.
export { Logger, NestJsonLogger } from './logger';
export type { LogLevel, LogFields, LoggerOptions } from './logger';
export { redact, redactString, REDACTED } from './redact';
export { Metrics } from './metrics';
export { HealthModule, READINESS_CHECKS } from './health';
export type { ReadinessCheck } from './health';
