// @steward/contracts: the shared language of Steward, event envelope, event
// registry with upcasters, subjects, headers, config parsing and the error family.
export { uuidv7, isUuidV7, uuidv7Time } from './uuid';
export {
  StewardError,
  ValidationError,
  NotFoundError,
  ConcurrencyError,
  IllegalStateError,
  UnauthorisedError,
  ForbiddenError,
  UnavailableError,
  httpStatusOf,
  exitCodeOf,
  isStewardError,
} from './errors';
export type { ErrorCode, ErrorContext, ValidationIssue } from './errors';
export { formatPath, issuesOf } from './zod-issues';
export {
  acceptEnvelope,
  EventEnvelopeSchema,
  EventMetadataSchema,
  EVENT_TYPE,
  TRACEPARENT,
  toEnvelope,
  causedBy,
} from './envelope';
export type { EventEnvelope, EventMetadata, StoredEvent, NewEvent } from './envelope';
export { defineEvent, EventRegistry, UnknownEventTypeError } from './registry';
export type { EventDefinition, EventHistoryEntry, EventData } from './registry';
export { Subjects } from './subjects';
export { Headers } from './headers';
export { parseConfig, BaseConfigSchema, intFromEnv } from './config';
export { CommandRejected, CommandAccepted, foundationEvents } from './foundation.events';
export { renderCatalogue } from './catalogue';
export { allEvents } from './all.events';
export { WorkflowApplied, WorkflowPaused, WorkflowResumed, workflowEvents } from './workflow.events';
export {
  RunRequested,
  RunQueued,
  RunStarted,
  RunAwaitingApproval,
  RunResumed,
  RunSucceeded,
  RunFailed,
  RunCancelled,
  RunTimedOut,
  RunReopened,
  StepQueued,
  StepStarted,
  StepSucceeded,
  StepFailed,
  StepTimedOut,
  StepRetryScheduled,
  StepDeadLettered,
  StepSkipped,
  StepCancelled,
  StepRequeued,
  StepDeadLetterDiscarded,
  ApprovalRequested,
  ApprovalGranted,
  ApprovalRejected,
  ApprovalEscalated,
  STEP_KINDS,
  StepErrorSchema,
  StepTargetSchema,
  stepTargetRoute,
  ReportedUsageSchema,
  runEvents,
} from './run.events';
export type { StepKind, StepError, StepTarget, ReportedUsage } from './run.events';
export { TimerRequested, TimerFired, TimerCancelled, timerEvents } from './timer.events';
export { ScheduleRunRequested, ScheduleOccurrenceMissed, MISSED_REASONS, scheduleEvents } from './schedule.events';
export { TOKEN_ROLES, TeamNameSchema, TokenCreated, TokenRevoked, GatewayBootstrapped, OperatorActionRecorded, gatewayEvents } from './gateway.events';
export type { TokenRole } from './gateway.events';
export { RawCaptured, CollectionFailed, COLLECTION_FAILURE_CLASSES, SourceNameSchema, CaptureRequestSchema, CaptureBodySchema, collectionEvents } from './collection.events';
export type { CaptureBody } from './collection.events';
export { SourceDisabled, SourceEnabled, sourceEvents } from './source.events';
export { ReplayStarted, ReplayProgressed, ReplayPublished, ReplayFailed, ReplayIdSchema, TransformRefSchema, ReplaySelectionSchema, replayEvents } from './replay.events';
export type { ReplaySelection } from './replay.events';
export { TransformationCompleted, TransformationFailed, TransformationReplayCompleted, DatasetVersionPromoted, RowCountsSchema, transformationEvents } from './transformation.events';
export type { RowCounts } from './transformation.events';
export {
  AlertPending,
  AlertFiring,
  AlertAcknowledged,
  AlertResolved,
  AlertEscalated,
  AlertActionTaken,
  AlertNotificationAttempted,
  AlertNotificationDelivered,
  AlertNotificationFailed,
  SilenceCreated,
  SilenceExpired,
  AlertRulesApplied,
  ALERT_SEVERITIES,
  CHANNEL_TYPES,
  ALERT_ACTIONS,
  alertEvents,
} from './alert.events';
export type { AlertSeverity, ChannelType, AlertAction } from './alert.events';
export { PricesApplied, BudgetSet, BudgetThresholdCrossed, UnitPriceSchema, BudgetThresholdSchema, costEvents } from './cost.events';
export type { UnitPrice, BudgetThreshold } from './cost.events';
export { COST_RECONCILIATION_SQL, costReconciliationOf } from './cost-reconciliation';
export type { CostReconciliation, CostReconciliationRow } from './cost-reconciliation';
export { DATASET_DIFF_SQL, datasetDiffOf, datasetDiffParams } from './dataset-diff';
export type { DatasetDiffRow, DatasetDiffSummary } from './dataset-diff';
export { TRANSFORMER_REPLAY_COLUMNS, transformerReplayOf } from './transformer-replay';
export type { TransformerReplay, TransformerReplayRow } from './transformer-replay';
