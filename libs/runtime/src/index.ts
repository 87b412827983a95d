// @steward/runtime: the process-wide resources every Steward service opens and
// closes the same way (Postgres pool, NATS connection, streams, metrics, readiness).
export { openRuntime, runtimeChecks, closeRuntime } from './service.runtime';
export type { ServiceRuntime, RuntimeConfig, OpenRuntimeOptions } from './service.runtime';
export { CommandRunner } from './command.runner';
export type { CommandRunnerOptions, CommandResult, CommandWork, RunOptions } from './command.runner';
export { ensureVerdictTable, ProjectionRebuilder, ProjectionRebuildRunner, REBUILD_VERDICTS_DDL } from './projection.rebuild';
export type { RebuildTable, RebuildTarget, RebuildVerdict, ReplayEnd } from './projection.rebuild';
