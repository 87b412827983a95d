import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { PageQuery } from '../http/api.schemas';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CommandDispatcher } from './command.dispatcher';
import { CommandOutcomeSchema, IdParams, ReasonBody, YamlBody } from './operator.schemas';
import { WorkflowReads } from '../reads/workflow-reads.service';

const SERVICE = 'scheduler';
const tag = 'workflows';

@Controller()
export class WorkflowsController {
  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(WorkflowReads) private readonly reads: WorkflowReads,
  ) {}

  @Endpoint({ method: 'POST', path: '/workflows', tag, role: 'operator', service: SERVICE, summary: 'Create or update a workflow from its YAML definition', body: YamlBody, response: CommandOutcomeSchema })
  apply(@Input('body') body: z.output<typeof YamlBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'apply_workflow', action: 'workflows.apply', payload: body }, caller);
  }

  @Endpoint({ method: 'GET', path: '/workflows', tag, role: 'viewer', service: SERVICE, summary: 'List workflows', query: PageQuery })
  list(@Input('query') query: z.output<typeof PageQuery>) {
    return this.reads.list(query);
  }

  @Endpoint({ method: 'GET', path: '/workflows/:id', tag, role: 'viewer', service: SERVICE, summary: 'Show a workflow: owner, runbook, schedule, steps, budget, SLO', params: IdParams })
  show(@Input('params') params: z.output<typeof IdParams>) {
    return this.reads.show(params.id);
  }

  @Endpoint({ method: 'POST', path: '/workflows/:id/pause', tag, role: 'operator', service: SERVICE, summary: 'Stop scheduling new runs', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  pause(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'pause_workflow', action: 'workflows.pause', payload: { workflowId: p.id }, target: { workflow: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/workflows/:id/resume', tag, role: 'operator', service: SERVICE, summary: 'Schedule runs again', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  resume(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'resume_workflow', action: 'workflows.resume', payload: { workflowId: p.id }, target: { workflow: p.id }, reason: b.reason }, caller);
  }
}
