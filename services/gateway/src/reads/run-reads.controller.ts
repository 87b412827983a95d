import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import { durationMs, PageQuery } from '../http/api.schemas';
import { Endpoint, Input } from '../http/endpoint.decorator';
import { DlqQuery, IdParams, RunsQuery, WaitQuery } from '../operator/operator.schemas';
import { RunReadsService } from './run-reads.service';

const SERVICE = 'executor';

/**
 * The read side of runs, approvals and dead letters, from the executor's
 * projection. Same paths, roles and input schemas as the operator
 * controllers' read stubs, which these replace (mounted first).
 */
@Controller()
export class RunReadsController {
  constructor(@Inject(RunReadsService) private readonly reads: RunReadsService) {}

  @Endpoint({ method: 'GET', path: '/runs', tag: 'runs', role: 'viewer', service: SERVICE, summary: 'List runs, newest first', query: RunsQuery })
  list(@Input('query') q: z.output<typeof RunsQuery>) {
    return this.reads.listRuns(q);
  }

  @Endpoint({ method: 'GET', path: '/runs/:id', tag: 'runs', role: 'viewer', service: SERVICE, summary: 'Show a run and its steps', params: IdParams })
  show(@Input('params') p: z.output<typeof IdParams>) {
    return this.reads.showRun(p.id);
  }

  @Endpoint({ method: 'GET', path: '/runs/:id/wait', tag: 'runs', role: 'viewer', service: SERVICE, summary: 'Wait until a run ends (up to timeout)', params: IdParams, query: WaitQuery })
  wait(@Input('params') p: z.output<typeof IdParams>, @Input('query') q: z.output<typeof WaitQuery>) {
    return this.reads.waitForRun(p.id, durationMs(q.timeout ?? '60s'));
  }

  @Endpoint({ method: 'GET', path: '/approvals', tag: 'approvals', role: 'viewer', service: SERVICE, summary: 'Approval steps waiting for a decision', query: PageQuery })
  approvals(@Input('query') q: z.output<typeof PageQuery>) {
    return this.reads.pendingApprovals(q);
  }

  @Endpoint({ method: 'GET', path: '/dlq', tag: 'dlq', role: 'viewer', service: SERVICE, summary: 'Dead letters: work that failed every attempt (filter by workflow, step, error code, since)', query: DlqQuery })
  deadLetters(@Input('query') q: z.output<typeof DlqQuery>) {
    const { since, ...rest } = q;
    return this.reads.deadLetters({ ...rest, ...(since !== undefined && { sinceMs: durationMs(since) }) });
  }
}

/** Mounted ahead of the API controllers so these routes answer instead of the 503 stubs. */
