import { z } from 'zod';
import { defineEvent } from './registry';

/** A service refused a command; the caller waiting on the command id gets this. */
export const CommandRejected = defineEvent({
  type: 'command.rejected',
  version: 1,
  description: 'A service refused a command, with the reason and the fields at fault.',
  schema: z.object({
    commandId: z.string(),
    service: z.string(),
    command: z.string(),
    code: z.string(),
    reason: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

/** A service accepted and applied a command that produced no domain event of its own. */
export const CommandAccepted = defineEvent({
  type: 'command.accepted',
  version: 1,
  description: 'A service applied a command; `events` lists the types it recorded.',
  schema: z.object({
    commandId: z.string(),
    service: z.string(),
    command: z.string(),
    events: z.array(z.string()),
  }),
});

export const foundationEvents = [CommandRejected, CommandAccepted];
