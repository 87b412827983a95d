import { Controller, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { READ_POOL } from '../reads/read-pool.token';
import { UNDEFINED_TABLE } from '../reads/replay-reads.repository';
import { CommandDispatcher } from './command.dispatcher';
import { CommandOutcomeSchema, IdParams, ReasonBody } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'collector';
const tag = 'sources';

const SourcesQuery = z.strictObject({ disabled: z.enum(['true', 'false']).optional().meta({ description: 'only disabled (true) or enabled (false) sources' }) });

const SourceSchema = z.object({
  source: z.string(),
  workflowId: z.string().nullable(),
  disabled: z.boolean(),
  automated: z.boolean(),
  reason: z.string().nullable(),
  changedBy: z.string().nullable(),
  changedAt: z.string(),
});

interface SourceRow {
  source: string;
  workflow_id: string | null;
  disabled: boolean;
  automated: boolean;
  reason: string | null;
  changed_by: string | null;
  changed_at: Date;
}

/**
 * Sources the collector was told to stop fetching (an alert's first
 * response, or an operator), read from its `collector_sources` projection,
 * and the commands that switch them. Resuming the workflow also re-enables
 * what an alert disabled (docs/collector.md).
 */
@Controller()
export class SourcesController {
  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(ReadModelGate) private readonly reads: ReadModelGate,
    @Inject(READ_POOL) private readonly readPool: Pool,
  ) {}

  @Endpoint({ method: 'GET', path: '/sources', tag, role: 'viewer', service: SERVICE, summary: 'Sources that were disabled or re-enabled, by whom and why', query: SourcesQuery, response: z.object({ items: z.array(SourceSchema) }) })
  async list(@Input('query') q: z.output<typeof SourcesQuery>) {
    let rows: SourceRow[];
    try {
      ({ rows } = await this.readPool.query<SourceRow>(
        `SELECT source, workflow_id, disabled, automated, reason, changed_by, changed_at FROM collector_sources
          WHERE ($1::boolean IS NULL OR disabled = $1) ORDER BY disabled DESC, changed_at DESC LIMIT 500`,
        [q.disabled === undefined ? null : q.disabled === 'true'],
      ));
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return this.reads.unavailable(SERVICE, 'sources');
      throw err;
    }
    return {
      items: rows.map((r) => ({ source: r.source, workflowId: r.workflow_id, disabled: r.disabled, automated: r.automated, reason: r.reason, changedBy: r.changed_by, changedAt: r.changed_at.toISOString() })),
    };
  }

  @Endpoint({ method: 'POST', path: '/sources/:id/disable', tag, role: 'operator', service: SERVICE, summary: 'Stop fetching a source: its collect steps fail at once (source_disabled) until it is enabled', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  disable(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'disable_source', action: 'sources.disable', payload: { source: p.id }, target: { source: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/sources/:id/enable', tag, role: 'operator', service: SERVICE, summary: 'Fetch a disabled source again', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  enable(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'enable_source', action: 'sources.enable', payload: { source: p.id }, target: { source: p.id }, reason: b.reason }, caller);
  }
}
