// @steward/observability: how every Steward service runs and reports on itself:
// JSON logs with redaction, Prometheus metrics, health, readiness and bootstrap.
export { Logger, NestJsonLogger } from './logger';
export type { LogLevel, LogFields, LoggerOptions } from './logger';
export { redact, redactString, REDACTED } from './redact';
export { Metrics } from './metrics';
export { HealthModule, READINESS_CHECKS } from './health';
export { bootstrapService } from './service.bootstrap';
export type { ServiceBootstrap } from './service.bootstrap';
export type { ReadinessCheck } from './health';
