import { z } from 'zod';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.policy';
import { scheduleSchema, type Schedule } from './schedule.schema';
import { normaliseStep, retrySchema, stepSchema, type StepDefinition } from './step.schema';
import { duration, expression, fraction, positiveInt, slug, text } from './workflow.fields';

// The workflow file of DESIGN.md as zod schemas. Parsing yields the
// normalised WorkflowDefinition: durations in milliseconds, defaults filled
// in, retry policies merged per step. That normalised form is what is hashed,
// stored in workflow.applied and snapshotted into every run.

export const INPUT_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'] as const;
export type InputType = (typeof INPUT_TYPES)[number];

export interface InputSpec {
  type: InputType;
  /** True unless the file says `required: false` or gives a default. */
  required: boolean;
  default?: unknown;
  enum?: Array<string | number | boolean>;
  description?: string;
}

export interface WorkflowDefinition {
  id: string;
  owner: string;
  runbook: string;
  description?: string;
  /** Absent: the workflow runs only when started by hand (`steward runs start`). */
  schedule?: Schedule;
  /** Runs of this workflow active at once, optionally per key (an expression over inputs). */
  concurrency?: { limit: number; key?: string };
  /** Whole-run timeout. */
  timeoutMs?: number;
  retry: RetryPolicy;
  budget?: { monthlyUsd: number };
  slo?: { successRate?: number; freshnessMs?: number };
  inputs?: Record<string, InputSpec>;
  steps: StepDefinition[];
}

/** Bounds a definition so that one run's state and events stay small. */
export const MAX_STEPS = 100;

const inputSpecSchema = z
  .strictObject({
    type: z.enum(INPUT_TYPES, { error: `expected one of ${INPUT_TYPES.join(', ')}` }),
    required: z.boolean({ error: 'expected true or false' }).optional(),
    default: z.unknown().optional(),
    enum: z.array(z.union([z.string(), z.number(), z.boolean()]), { error: 'expected a list of allowed values' }).min(1).optional(),
    description: text('a description', 1000).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.default !== undefined && !matchesType(s.type, s.default)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `expected a default of type ${s.type}`, input: s.default });
    }
  })
  .transform(
    (s): InputSpec => ({
      type: s.type,
      required: s.required ?? s.default === undefined,
      ...(s.default !== undefined && { default: s.default }),
      ...(s.enum !== undefined && { enum: s.enum }),
      ...(s.description !== undefined && { description: s.description }),
    }),
  );

export function matchesType(type: InputType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
  }
}

const CONCURRENCY = 'expected a positive integer or { limit, key }';
const concurrencySchema = z.preprocess(
  (v) => (typeof v === 'number' ? { limit: v } : v),
  z.strictObject({ limit: positiveInt(10_000), key: expression.optional() }, { error: CONCURRENCY }),
);

export const workflowSchema = z
  .strictObject({
    id: slug('a workflow id'),
    owner: text('an owner (team or person)', 100),
    runbook: text('a runbook link or path', 500),
    description: text('a description', 2000).optional(),
    schedule: scheduleSchema.optional(),
    concurrency: concurrencySchema.optional(),
    timeout: duration.optional(),
    retry: retrySchema.optional(),
    budget: z.strictObject({
      monthlyUsd: z.number({ error: 'expected an amount in USD of at least 0' }).min(0, { error: 'expected an amount in USD of at least 0' }),
    }).optional(),
    slo: z.strictObject({ successRate: fraction('a success rate from 0 to 1').optional(), freshness: duration.optional() }).optional(),
    inputs: z.record(slug('an input name'), inputSpecSchema, { error: 'expected a map of input name: { type, ... }' }).optional(),
    steps: z
      .array(stepSchema, { error: 'expected a list of steps' })
      .min(1, { error: 'expected at least one step' })
      .max(MAX_STEPS, { error: `expected at most ${MAX_STEPS} steps` }),
  })
  .transform((w): WorkflowDefinition => {
    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, nonRetryable: [...DEFAULT_RETRY_POLICY.nonRetryable], ...w.retry };
    return {
      id: w.id,
      owner: w.owner,
      runbook: w.runbook,
      ...(w.description !== undefined && { description: w.description }),
      ...(w.schedule !== undefined && { schedule: w.schedule }),
      ...(w.concurrency !== undefined && { concurrency: w.concurrency }),
      ...(w.timeout !== undefined && { timeoutMs: w.timeout }),
      retry,
      ...(w.budget !== undefined && { budget: w.budget }),
      ...(w.slo !== undefined && {
        slo: {
          ...(w.slo.successRate !== undefined && { successRate: w.slo.successRate }),
          ...(w.slo.freshness !== undefined && { freshnessMs: w.slo.freshness }),
        },
      }),
      ...(w.inputs !== undefined && { inputs: w.inputs }),
      steps: w.steps.map((s) => normaliseStep(s, retry)),
    };
  });

/** Top-level keys a file may use; anything else is reported as unknown. */
export const WORKFLOW_KEYS = Object.keys(workflowSchema.in.shape);
