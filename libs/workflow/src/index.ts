// @steward/workflow: the pure domain of workflows and runs: the workflow file format and its
// validation, the safe expression language, retry policy, schedule math, and the run decider.
export { parseWorkflow, validateWorkflow, showValue, MAX_WORKFLOW_BYTES } from './workflow.parse';
export type { WorkflowIssue } from './workflow.parse';
export { workflowSchema, matchesType, INPUT_TYPES, MAX_STEPS } from './workflow.schema';
export type { WorkflowDefinition, InputSpec, InputType } from './workflow.schema';
export { DEFAULT_STEP_TIMEOUT_MS, DEFAULT_APPROVAL_TIMEOUT_MS, STEP_KIND_KEYS } from './step.schema';
export type {
  StepDefinition,
  CollectSpec,
  HttpSource,
  FileSource,
  HandlerSource,
  TransformSpec,
  TaskSpec,
  ApprovalSpec,
} from './step.schema';
export { CATCHUP_POLICIES, OVERLAP_POLICIES, MAX_CATCHUP_CAP } from './schedule.schema';
export type { Schedule, CronSchedule, IntervalSchedule, EventSchedule, OnceSchedule, CatchupPolicy, OverlapPolicy, Scalar } from './schedule.schema';
export { hashWorkflow, canonicalJson } from './workflow.hash';
export { checkStepGraph, findCycles, ancestorsOf, topologicalOrder } from './workflow.graph';
export { parseDuration, formatDuration, parseRate, MAX_DURATION_MS } from './duration.parse';
export { parseExpression, referencedSteps, ExpressionSyntaxError, EXPRESSION_LIMITS, EXPRESSION_FUNCTIONS } from './expression.parse';
export type { Expression, ExpressionFunction, ComparisonOperator, PathSegment } from './expression.parse';
export { evaluateExpression, evaluateCondition } from './expression.evaluate';
export type { ExpressionValue, ExpressionScope, EvaluationResult } from './expression.evaluate';
export { nextRetry, retryDelay, DEFAULT_RETRY_POLICY, MAX_RETRY_AFTER_MS } from './retry.policy';
export type { RetryPolicy, RetryDecision, NextRetryInput } from './retry.policy';
export {
  nextOccurrence,
  occurrencesBetween,
  missedOccurrences,
  occurrenceId,
  occurrenceOf,
  eventOccurrenceId,
  jitterOffset,
  matchesTrigger,
} from './schedule.calculate';
export type { Occurrence, MissedOccurrences, MissedOptions } from './schedule.calculate';
export { cronOf, cronError, isValidTimeZone } from './cron.pattern';
export { defineStateMachine, transition, allowedEvents, canTransition, eventsOf, renderStateMachine } from './transition.table';
export type { StateMachine, Transition } from './transition.table';
export { runStateMachine, transitionRun, RUN_STATES, RUN_TERMINAL_STATES } from './run.state-machine';
export type { RunStatus, RunMachineEvent } from './run.state-machine';
export { stepStateMachine, transitionStep, STEP_STATES, STEP_TERMINAL_STATES, STEP_ACTIVE_STATES } from './step.state-machine';
export type { StepStatus, StepMachineEvent } from './step.state-machine';
export { renderStateMachineDocs, STATE_MACHINES } from './state-machines.render';
export { resolveRunInput, concurrencyKeyOf } from './run-input.validate';
export { initialRunState, isActiveRun } from './run.state';
export type { RunState, ActiveRunState, StepState, StepFailure, RunEvent, RunEventType, RunEventOf } from './run.state';
export type {
  RunCommand,
  RunTrigger,
  RequestRun,
  AdmitRun,
  StartStep,
  ReportStepSucceeded,
  ReportStepFailed,
  ReportStepTimedOut,
  RetryDue,
  GrantApproval,
  RejectApproval,
  ApprovalTimedOut,
  CancelRun,
  TimeOutRun,
  RequeueStep,
  DiscardDeadLetter,
} from './run.commands';
export { evolveRun } from './run.evolve';
export { decideRun } from './run.decide';
export { runDecider, runStreamId } from './run.decider';
