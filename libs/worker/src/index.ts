// @steward/worker: the task SDK (defineHandler, TaskError, the handler context) and
// the worker pool that runs each attempt in a task process (warm or forked per attempt) and reports by command.
export { defineHandler, TaskError, isTaskHandler, handlersOfModule } from './handler.define';
export type { TaskHandler, TaskContext, TaskInput, TaskLogger, ReportedUsage, JsonObject } from './handler.define';
export { loadHandlers, handlerDirsFromEnv, HandlerLoadError } from './handler.load';
export type { HandlerRegistration } from './handler.load';
export { runIsolated, runnerPath } from './task.isolate';
export type { IsolatedAttempt, AttemptReport, AttemptUsage, AbortReason, TaskLogLevel } from './task.isolate';
export type { AttemptIdentity, AttemptOutcome, StepErrorShape } from './task.protocol';
export {
  EnvironmentProfileResolver,
  ProfilesSchema,
  SecretMissingError,
  loadProfilesFile,
  parseProfiles,
  scrubSecrets,
  secretEnvName,
} from './environment.profile';
export type { EnvironmentProfiles, ResolvedEnvironment } from './environment.profile';
export { WorkerPool } from './worker.pool';
export type { WorkerPoolOptions, IsolationMode } from './worker.pool';
export { DEFAULT_STARTED_REPORT_DELAY_MS } from './task.attempt';
export { WarmIsolatePool, DEFAULT_ISOLATE_MAX_ATTEMPTS } from './isolate.warm';
export type { WarmIsolateOptions, TaskProcessEvent, RetireReason } from './isolate.warm';
export { stepCommandId } from './step-command.publisher';
export { WorkerConfigSchema, parseWorkerConfig, startWorker } from './worker.config';
export type { WorkerConfig, RunningWorker } from './worker.config';
