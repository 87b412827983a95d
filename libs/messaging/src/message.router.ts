import type { EventEnvelope, EventRegistry, Subjects } from '@steward/contracts';
import { commandPattern, decodeCommand, type CommandEnvelope } from './command.envelope';
import type { DeadLetterReason } from './dead-letter.publisher';
import { decodeEnvelope, type Payload } from './envelope.codec';

export type ConsumedStream = 'EVENTS' | 'COMMANDS' | 'REPLAY';

export type Route =
  | { kind: 'dead_letter'; reason: DeadLetterReason; error: unknown }
  | { kind: 'skip' }
  | { kind: 'handle'; pattern: string; data: unknown; meta: { envelope?: EventEnvelope; command?: CommandEnvelope } };

/**
 * Decides what one message means for this service, without I/O:
 * - events: bad envelope -> DLQ invalid_envelope; type not in the registry ->
 *   DLQ unknown_type; no handler here -> skip (ack); payload fails its schema
 *   after upcasting -> DLQ schema_invalid. Validation runs only for handled
 *   types, so a service never dead-letters an event it does not even consume.
 * - commands: bad body -> DLQ invalid_envelope; no handler -> DLQ
 *   unknown_command (a work-queue message nobody takes would be lost).
 */
export function routeMessage(
  msg: Payload & { subject: string },
  stream: ConsumedStream,
  subjects: Subjects,
  registry: EventRegistry,
  hasHandler: (pattern: string) => boolean,
): Route {
  if (stream === 'COMMANDS') return routeCommand(msg, subjects, hasHandler);
  let envelope: EventEnvelope;
  try {
    envelope = decodeEnvelope(msg);
  } catch (error) {
    return { kind: 'dead_letter', reason: 'invalid_envelope', error };
  }
  if (!registry.has(envelope.type)) {
    return { kind: 'dead_letter', reason: 'unknown_type', error: new Error(`event type "${envelope.type}" is not registered`) };
  }
  if (!hasHandler(envelope.type)) return { kind: 'skip' };
  try {
    const up = registry.upcast(envelope.type, envelope.dataschemaversion, envelope.data);
    // Data and version travel together: handlers see the current version only.
    const current: EventEnvelope = { ...envelope, dataschemaversion: up.version, data: up.data };
    return { kind: 'handle', pattern: envelope.type, data: current, meta: { envelope: current } };
  } catch (error) {
    return { kind: 'dead_letter', reason: 'schema_invalid', error };
  }
}

function routeCommand(msg: Payload & { subject: string }, subjects: Subjects, hasHandler: (pattern: string) => boolean): Route {
  let command: CommandEnvelope;
  try {
    command = decodeCommand(msg);
  } catch (error) {
    return { kind: 'dead_letter', reason: 'invalid_envelope', error };
  }
  if (msg.subject !== subjects.command(command.service, command.name)) {
    return { kind: 'dead_letter', reason: 'invalid_envelope', error: new Error(`command ${command.service}.${command.name} arrived on ${msg.subject}`) };
  }
  const pattern = commandPattern(command.name);
  if (!hasHandler(pattern)) {
    return { kind: 'dead_letter', reason: 'unknown_command', error: new Error(`no handler for ${pattern}`) };
  }
  return { kind: 'handle', pattern, data: command, meta: { command } };
}
