import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CommandDispatcher } from './command.dispatcher';
import { CommandOutcomeSchema, IdParams, StartReplayBody } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'ledger';
const tag = 'replays';

@Controller()
export class ReplaysController {
  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(ReadModelGate) private readonly reads: ReadModelGate,
  ) {}

  @Endpoint({ method: 'POST', path: '/replays', tag, role: 'operator', service: SERVICE, summary: 'Replay raw captures of a source or workflow through a transform version', body: StartReplayBody, response: CommandOutcomeSchema })
  start(@Input('body') b: z.output<typeof StartReplayBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'start_replay', action: 'replays.start', payload: b, ...(b.workflow !== undefined && { target: { workflow: b.workflow } }) }, caller);
  }

  @Endpoint({ method: 'GET', path: '/replays/:id', tag, role: 'viewer', service: SERVICE, summary: 'Progress of a replay', params: IdParams })
  status(@Input('params') _p: z.output<typeof IdParams>) {
    return this.reads.unavailable(SERVICE, 'replays');
  }

  @Endpoint({ method: 'GET', path: '/replays/:id/diff', tag, role: 'viewer', service: SERVICE, summary: "Compare a replay's results with the previous transform version's", params: IdParams })
  diff(@Input('params') _p: z.output<typeof IdParams>) {
    return this.reads.unavailable(SERVICE, 'replays');
  }
}
