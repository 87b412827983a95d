import { z } from 'zod';
import { SourceNameSchema } from './collection.events';
import { defineEvent } from './registry';

// Whether the collector may fetch a source. Stream `source-<source>`, written
// only by the collector: `disable_source` (an alert's automated first response
// or an operator) and `enable_source`, or `workflow.resumed` for the sources
// of that workflow an automated action disabled.

const when = z.iso.datetime({ offset: true });
const workflowId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a workflow id (lowercase slug)');

export const SourceDisabled = defineEvent({
  type: 'collection.source_disabled',
  version: 1,
  description: 'A source was disabled: collect steps of it fail at once (permanent, source_disabled) without fetching, until it is enabled or its workflow resumed.',
  schema: z.object({
    source: SourceNameSchema,
    /** The workflow of a `<workflowId>.<stepId>` source. */
    workflowId: workflowId.optional(),
    reason: z.string().max(1000).optional(),
    /** Who sent the command (the command's actor); `alerter` for an alert's action. */
    disabledBy: z.string().min(1).max(200).optional(),
    /** By an automated action (an alert): `steward workflows resume` re-enables it. */
    automated: z.boolean(),
    disabledAt: when,
  }),
});

export const SourceEnabled = defineEvent({
  type: 'collection.source_enabled',
  version: 1,
  description: 'A disabled source was enabled again, by enable_source or because its workflow was resumed (trigger workflow_resumed, caused by the workflow.resumed event).',
  schema: z.object({
    source: SourceNameSchema,
    workflowId: workflowId.optional(),
    reason: z.string().max(1000).optional(),
    enabledBy: z.string().min(1).max(200).optional(),
    trigger: z.enum(['command', 'workflow_resumed']),
    enabledAt: when,
  }),
});

export const sourceEvents = [SourceDisabled, SourceEnabled];
