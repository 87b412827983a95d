import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { Headers, TRACEPARENT, ValidationError, isUuidV7, issuesOf } from '@steward/contracts';
import { z } from 'zod';
import { parseJson, type Payload } from './envelope.codec';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * The body of a command on `<ns.>steward.cmd.<service>.<name>`. Commands are
 * requests, not facts: the owning service validates `payload` and records the
 * outcome as events whose causation id is `commandId`.
 */
export const CommandEnvelopeSchema = z.object({
  commandId: z.string().refine(isUuidV7, { message: 'expected a UUIDv7' }),
  service: z.string().regex(TOKEN, 'expected a subject token'),
  name: z.string().regex(TOKEN, 'expected a subject token'),
  payload: z.unknown(),
  actor: z.string().min(1).max(200).optional(),
  correlationId: z.string().min(1).max(200),
  issuedAt: z.iso.datetime({ offset: true }),
  traceparent: z.string().regex(TRACEPARENT, 'expected a W3C traceparent').optional(),
});
export type CommandEnvelope = z.infer<typeof CommandEnvelopeSchema>;
/** Same schema under the type's name, so `CommandEnvelope.parse(x)` reads naturally. */
export const CommandEnvelope = CommandEnvelopeSchema;

/** Handlers of commands register `@EventPattern(commandPattern('requeue'))`, i.e. `cmd:requeue`. */
export const COMMAND_PATTERN_PREFIX = 'cmd:';
export function commandPattern(name: string): string {
  return `${COMMAND_PATTERN_PREFIX}${name}`;
}

export function commandHeaders(command: CommandEnvelope): MsgHdrs {
  const h = natsHeaders();
  h.set(Headers.MsgId, command.commandId);
  h.set(Headers.Type, commandPattern(command.name));
  h.set(Headers.CorrelationId, command.correlationId);
  if (command.actor !== undefined) h.set(Headers.Actor, command.actor);
  if (command.traceparent !== undefined) h.set(Headers.Traceparent, command.traceparent);
  return h;
}

export function decodeCommand(msg: Payload): CommandEnvelope {
  const parsed = CommandEnvelopeSchema.safeParse(parseJson(msg, 'command'));
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    throw new ValidationError(`invalid command: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return parsed.data;
}
