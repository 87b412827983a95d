import { z } from 'zod';
import type { Logger } from '@steward/observability';
import { runIsolated, SecretMissingError, type EnvironmentProfileResolver, type HandlerRegistration } from '@steward/worker';
import { CollectError, permanent, transient } from '../capture/collect.error';

export interface HandlerCapture {
  body: Buffer;
  contentType: string;
  status?: number;
}

/** What a custom collector handler returns: the body it fetched and its type. */
const HandlerOutputSchema = z.object({
  body: z.string(),
  encoding: z.enum(['utf8', 'base64']).default('utf8'),
  contentType: z.string().min(1).max(300).default('application/octet-stream'),
  status: z.number().int().min(0).max(999).optional(),
});

export interface HandlerRun {
  handler: string;
  input: { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  identity: { runId: string; stepId: string; workflowId: string; attempt: number };
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: AbortSignal;
}

/**
 * Custom collector handlers, written with the worker SDK (defineHandler) and
 * loaded from COLLECTOR_HANDLERS like a worker loads STEWARD_HANDLERS. Each
 * run is isolated the way the worker isolates a task: its own child
 * process, heap cap and timeout. What it returns becomes the capture.
 */
export class HandlerSource {
  constructor(
    private readonly handlers: ReadonlyMap<string, HandlerRegistration>,
    private readonly memoryMb: number,
    /** The workflow's environment profile (COLLECTOR_PROFILES), secrets resolved from STEWARD_SECRET_<NAME>. */
    private readonly profiles: EnvironmentProfileResolver,
    private readonly logger: Logger,
  ) {}

  async run(run: HandlerRun): Promise<HandlerCapture> {
    const registration = this.handlers.get(run.handler);
    if (!registration) {
      const known = [...this.handlers.keys()].join(', ') || 'none';
      throw permanent('unknown_handler', `no collector handler "${run.handler}" (COLLECTOR_HANDLERS has: ${known})`);
    }
    let environment;
    try {
      environment = this.profiles.resolve(run.identity.workflowId);
    } catch (err) {
      if (err instanceof SecretMissingError) throw permanent('secret_missing', err.message);
      throw err;
    }
    const log = this.logger.child({ workflow: run.identity.workflowId, run_id: run.identity.runId, task_id: run.identity.stepId, attempt: run.identity.attempt, handler: run.handler });
    const report = await runIsolated({
      modulePath: registration.modulePath,
      handler: registration.name,
      input: run.input,
      identity: run.identity,
      memoryMb: this.memoryMb,
      timeoutMs: run.timeoutMs,
      env: environment.env,
      secrets: environment.secrets,
      ...(run.signal && { signal: run.signal }),
      onLog: (level, msg, fields) => log[level](msg, { ...fields, source: 'handler' }),
    });
    const outcome = report.outcome;
    if (outcome.status === 'failed') {
      const { code, message, retryable } = outcome.error;
      throw new CollectError(code, retryable ? 'transient' : 'permanent', message);
    }
    const parsed = HandlerOutputSchema.safeParse(outcome.outputs);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw permanent('invalid_handler_output', `collector handler "${run.handler}" must return { body, contentType?, encoding? }: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const body = Buffer.from(parsed.data.body, parsed.data.encoding);
    if (body.byteLength > run.maxBodyBytes) throw permanent('body_too_large', `collector handler "${run.handler}" returned ${body.byteLength} bytes; the limit is ${run.maxBodyBytes} bytes`);
    if (parsed.data.status !== undefined && parsed.data.status >= 400) {
      throw (parsed.data.status >= 500 || parsed.data.status === 429 ? transient : permanent)(`http_${parsed.data.status}`, `collector handler "${run.handler}" reported status ${parsed.data.status}`);
    }
    return { body, contentType: parsed.data.contentType, ...(parsed.data.status !== undefined && { status: parsed.data.status }) };
  }
}
