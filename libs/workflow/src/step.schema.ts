import { z } from 'zod';
import { formatDuration, parseRate } from './duration.parse';
import type { RetryPolicy } from './retry.policy';
import { duration, exactlyOne, expression, fraction, positiveInt, slug, text } from './workflow.fields';

// One entry of `steps:`: id, needs, when, timeout, retry override, and
// exactly one of collect | transform | task | approval.

export interface HttpSource {
  kind: 'http';
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  headers: Record<string, string>;
  query: Record<string, string | number | boolean>;
  body?: unknown;
  /**
   * A reference the collector resolves (STEWARD_SECRET_<NAME> in its
   * environment); the secret itself never appears in a definition or event.
   * Sent as header `header` (default Authorization) with `scheme` before it
   * (default Bearer; '' sends the bare value), or as query parameter `query`.
   */
  auth?: { secretRef: string; header?: string; scheme?: string; query?: string };
}
export type FileSource = { kind: 'file'; path: string } | { kind: 'file'; glob: string };
export interface HandlerSource {
  kind: 'handler';
  handler: string;
}

export interface CollectSpec {
  source: HttpSource | FileSource | HandlerSource;
  rateLimit?: { count: number; perMs: number };
  /** Fetches of this source running at once, across every collector replica. */
  concurrency?: number;
  /** Time for one request (connect to last byte); the step timeout still bounds the attempt. */
  requestTimeoutMs?: number;
  /** Bodies larger than this are refused (permanent `body_too_large`). */
  maxBodyBytes?: number;
  /** Redirects followed (each re-checked by the collector's destination guard). */
  maxRedirects?: number;
  /** Accepted content types (`text/csv`, `application/*`); another one is a permanent `invalid_content_type`. */
  accept?: string[];
}
export interface TransformSpec {
  name: string;
  version: number;
}
export interface TaskSpec {
  handler: string;
  queue: string;
  memoryMb: number;
  heartbeatMs?: number;
}
export interface ApprovalSpec {
  approvers: string[];
  timeoutMs: number;
  onTimeout: 'fail' | 'escalate' | 'approve';
}

interface StepBase {
  id: string;
  needs: string[];
  /** Source text of the condition; parsed again where it is evaluated. */
  when?: string;
  /** Start-to-close timeout of one attempt (for approvals: the approval timeout). */
  timeoutMs: number;
  /** How long a queued attempt may wait for its collector, transformer or worker; absent: the executor's default. */
  scheduleToStartMs?: number;
  /** The workflow's policy with this step's overrides applied. */
  retry: RetryPolicy;
}

export type StepDefinition =
  | (StepBase & { kind: 'collect'; collect: CollectSpec })
  | (StepBase & { kind: 'transform'; transform: TransformSpec })
  | (StepBase & { kind: 'task'; task: TaskSpec })
  | (StepBase & { kind: 'approval'; approval: ApprovalSpec });

export type StepKind = StepDefinition['kind'];
export const STEP_KIND_KEYS = ['collect', 'transform', 'task', 'approval'] as const;

/** An attempt without its own timeout gets this long. */
export const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_APPROVAL_TIMEOUT_MS = 24 * 3_600_000;

/** A partial policy as written in the file; merged over the workflow's, then the defaults. */
export const retrySchema = z
  .strictObject({
    maxAttempts: positiveInt(100).optional(),
    initialDelay: duration.optional(),
    backoff: z.number({ error: 'expected a backoff coefficient of at least 1' }).min(1, { error: 'expected a backoff coefficient of at least 1' }).max(100, { error: 'expected a backoff coefficient of at most 100' }).optional(),
    maxDelay: duration.optional(),
    jitter: fraction('a jitter fraction from 0 to 1').optional(),
    nonRetryable: z.array(text('an error code', 100), { error: 'expected a list of error codes' }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.initialDelay !== undefined && r.maxDelay !== undefined && r.maxDelay < r.initialDelay) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxDelay'],
        message: `expected a maxDelay at least as long as initialDelay (${formatDuration(r.initialDelay)}), got ${formatDuration(r.maxDelay)}`,
      });
    }
  })
  .transform(
    (r): Partial<RetryPolicy> => ({
      ...(r.maxAttempts !== undefined && { maxAttempts: r.maxAttempts }),
      ...(r.initialDelay !== undefined && { initialDelayMs: r.initialDelay }),
      ...(r.backoff !== undefined && { backoff: r.backoff }),
      ...(r.maxDelay !== undefined && { maxDelayMs: r.maxDelay }),
      ...(r.jitter !== undefined && { jitter: r.jitter }),
      ...(r.nonRetryable !== undefined && { nonRetryable: r.nonRetryable }),
    }),
  );
export type RetryOverride = z.output<typeof retrySchema>;

const HTTP_URL = 'expected an http(s) URL';
const httpSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: HTTP_URL }),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'], { error: 'expected one of GET, POST, PUT, PATCH, DELETE, HEAD' }).default('GET'),
  headers: z.record(z.string(), z.string({ error: 'expected a header value (text)' }), { error: 'expected a map of header: value' }).default({}),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' }), { error: 'expected a map of name: value' }).default({}),
  body: z.unknown().optional(),
  auth: z
    .strictObject({
      secretRef: text('a secret reference', 200),
      header: z.string({ error: 'expected a header name' }).regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, { error: 'expected a header name' }).optional(),
      scheme: z.string({ error: 'expected an auth scheme such as Bearer' }).max(50, { error: 'expected an auth scheme such as Bearer' }).optional(),
      query: text('a query parameter name', 100).optional(),
    })
    .superRefine((a, ctx) => {
      if (a.query !== undefined && (a.header !== undefined || a.scheme !== undefined)) {
        ctx.addIssue({ code: 'custom', message: 'expected either query or header/scheme, not both' });
      }
    })
    .optional(),
});

const SIZE = 'expected a size such as 512KB, 10MB or a number of bytes';
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };
const size = z.union([z.number(), z.string()], { error: SIZE }).transform((v, ctx) => {
  const m = typeof v === 'number' ? [String(v), String(v), 'b'] : /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m ? SIZE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > 1024 ** 3) {
    ctx.addIssue({ code: 'custom', message: `${SIZE}, from 1 byte to 1GB`, input: v });
    return z.NEVER;
  }
  return bytes;
});
const CONTENT_TYPE = 'expected a content type such as text/csv or application/*';
const contentTypePattern = z.string({ error: CONTENT_TYPE }).regex(/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/i, { error: CONTENT_TYPE });

const fileSchema = z
  .strictObject({ path: text('a file path', 1000).optional(), glob: text('a glob', 1000).optional() })
  .superRefine((f, ctx) => void exactlyOne(f, ['path', 'glob'], ctx))
  .transform((f): FileSource => (f.path !== undefined ? { kind: 'file', path: f.path } : { kind: 'file', glob: f.glob! }));

const RATE = 'expected a rate such as 10/min, 5/s or 100/h';
const collectSchema = z
  .strictObject({
    http: httpSchema.optional(),
    file: fileSchema.optional(),
    handler: text('a handler name', 200).optional(),
    rateLimit: z.string({ error: RATE }).optional(),
    concurrency: positiveInt(1000).optional(),
    timeout: duration.optional(),
    maxBodySize: size.optional(),
    maxRedirects: z.number({ error: 'expected a number of redirects from 0 to 20' }).int({ error: 'expected a number of redirects from 0 to 20' }).min(0, { error: 'expected a number of redirects from 0 to 20' }).max(20, { error: 'expected a number of redirects from 0 to 20' }).optional(),
    accept: z.array(contentTypePattern, { error: 'expected a list of content types' }).min(1, { error: 'expected at least one content type' }).optional(),
  })
  .superRefine((c, ctx) => {
    exactlyOne(c, ['http', 'file', 'handler'], ctx);
    if (c.rateLimit !== undefined && parseRate(c.rateLimit) === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rateLimit'], message: RATE, input: c.rateLimit });
    }
  })
  .transform(
    (c): CollectSpec => ({
      source: c.http !== undefined ? { kind: 'http', ...c.http } : c.file !== undefined ? c.file : { kind: 'handler', handler: c.handler! },
      ...(c.rateLimit !== undefined && { rateLimit: parseRate(c.rateLimit)! }),
      ...(c.concurrency !== undefined && { concurrency: c.concurrency }),
      ...(c.timeout !== undefined && { requestTimeoutMs: c.timeout }),
      ...(c.maxBodySize !== undefined && { maxBodyBytes: c.maxBodySize }),
      ...(c.maxRedirects !== undefined && { maxRedirects: c.maxRedirects }),
      ...(c.accept !== undefined && { accept: c.accept.map((t) => t.toLowerCase()) }),
    }),
  );

const TRANSFORM = 'expected name@version, such as supplier-prices@2';
const transformSchema = z
  .string({ error: TRANSFORM })
  .regex(/^[a-z][a-z0-9_-]{0,62}@[1-9]\d{0,5}$/, { error: TRANSFORM })
  .transform((s): TransformSpec => {
    const [name, version] = s.split('@');
    return { name: name!, version: Number(version) };
  });

const taskSchema = z.strictObject({
  handler: text('a handler name', 200),
  queue: slug('a task queue name').default('default'),
  memoryMb: z.number({ error: 'expected a memory limit in MB from 16 to 65536' }).int({ error: 'expected a memory limit in MB from 16 to 65536' }).min(16, { error: 'expected a memory limit in MB from 16 to 65536' }).max(65536, { error: 'expected a memory limit in MB from 16 to 65536' }).default(256),
  timeout: duration.optional(),
  heartbeat: duration.optional(),
});

const approvalSchema = z.strictObject({
  approvers: z.array(text('an approver (person or team)', 200), { error: 'expected a list of approvers' }).min(1, { error: 'expected at least one approver' }),
  timeout: duration.default(DEFAULT_APPROVAL_TIMEOUT_MS),
  onTimeout: z.enum(['fail', 'escalate', 'approve'], { error: 'expected one of fail, escalate, approve' }).default('fail'),
});

/** A step as written, before the workflow's retry policy is merged in. */
export const stepSchema = z
  .strictObject({
    id: slug('a step id'),
    needs: z.array(slug('a step id'), { error: 'expected a list of step ids' }).default([]),
    when: expression.optional(),
    timeout: duration.optional(),
    scheduleToStart: duration.optional(),
    retry: retrySchema.optional(),
    collect: collectSchema.optional(),
    transform: transformSchema.optional(),
    task: taskSchema.optional(),
    approval: approvalSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const kind = exactlyOne(s, STEP_KIND_KEYS, ctx);
    if (kind === 'approval' && s.timeout !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'an approval step takes no step timeout (use approval.timeout)' });
    }
    if (kind === 'approval' && s.scheduleToStart !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['scheduleToStart'], message: 'an approval step takes no scheduleToStart (operators have approval.timeout)' });
    }
    if (kind === 'approval' && s.retry !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['retry'], message: 'an approval step takes no retry (a decision is not retried)' });
    }
  });
export type StepInput = z.output<typeof stepSchema>;

/** Resolves kind, timeout and retry into the normalised step. */
export function normaliseStep(s: StepInput, workflowRetry: RetryPolicy): StepDefinition {
  const base = {
    id: s.id,
    needs: s.needs,
    ...(s.when !== undefined && { when: s.when }),
    ...(s.scheduleToStart !== undefined && { scheduleToStartMs: s.scheduleToStart }),
    retry: { ...workflowRetry, ...s.retry },
  };
  if (s.approval !== undefined) {
    const approval: ApprovalSpec = { approvers: s.approval.approvers, timeoutMs: s.approval.timeout, onTimeout: s.approval.onTimeout };
    return { ...base, timeoutMs: approval.timeoutMs, kind: 'approval', approval };
  }
  if (s.task !== undefined) {
    const task: TaskSpec = {
      handler: s.task.handler,
      queue: s.task.queue,
      memoryMb: s.task.memoryMb,
      ...(s.task.heartbeat !== undefined && { heartbeatMs: s.task.heartbeat }),
    };
    return { ...base, timeoutMs: s.timeout ?? s.task.timeout ?? DEFAULT_STEP_TIMEOUT_MS, kind: 'task', task };
  }
  const timeoutMs = s.timeout ?? DEFAULT_STEP_TIMEOUT_MS;
  if (s.transform !== undefined) return { ...base, timeoutMs, kind: 'transform', transform: s.transform };
  return { ...base, timeoutMs, kind: 'collect', collect: s.collect! };
}
