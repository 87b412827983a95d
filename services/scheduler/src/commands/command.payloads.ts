import { ValidationError, issuesOf } from '@steward/contracts';
import { z } from 'zod';

// Command payloads as the gateway sends them (docs/execution-contract.md).

const workflowId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a workflow id (lowercase slug)');

export const ApplyWorkflowPayload = z.object({
  yaml: z.string().min(1, 'must not be empty'),
  file: z.string().max(500).optional(),
});

/** The contract names the workflow `id`; the gateway sends `workflowId`. Both are accepted. */
export const WorkflowRefPayload = z
  .object({ id: workflowId.optional(), workflowId: workflowId.optional(), reason: z.string().max(1000).optional() })
  .refine((p) => p.id !== undefined || p.workflowId !== undefined, { message: 'expected id', path: ['id'] })
  .transform((p) => ({ id: (p.id ?? p.workflowId)!, reason: p.reason }));

export const StartRunPayload = z.object({
  workflow: workflowId,
  input: z.record(z.string(), z.unknown(), { error: 'expected an object' }).optional(),
});

export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, command: string): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issues = issuesOf(parsed.error, 'payload');
  throw new ValidationError(`invalid ${command} command: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}
