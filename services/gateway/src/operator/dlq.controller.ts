import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { durationMs } from '../http/api.schemas';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { HttpReply } from '../http/http-reply';
import { RunReadsService } from '../reads/run-reads.service';
import { CommandDispatcher } from './command.dispatcher';
import {
  BulkDiscardBody,
  BulkDlqOutcomeSchema,
  BulkRequeueBody,
  CommandOutcomeSchema,
  IdParams,
  MAX_BULK_DEAD_LETTERS,
  ReasonBody,
  RequiredReasonBody,
  type DlqFilter,
} from './operator.schemas';

const SERVICE = 'executor';
const tag = 'dlq';

type BulkAction = 'requeue' | 'discard';
const BULK: Record<BulkAction, { command: string; done: 'requeued' | 'discarded' }> = {
  requeue: { command: 'requeue_dead_letters', done: 'requeued' },
  discard: { command: 'discard_dead_letters', done: 'discarded' },
};

@Controller()
export class DlqController {
  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(RunReadsService) private readonly reads: RunReadsService,
  ) {}

  @Endpoint({ method: 'POST', path: '/dlq/:id/requeue', tag, role: 'operator', service: SERVICE, summary: 'Send a dead letter back for another attempt', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  requeue(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'requeue_dead_letter', action: 'dlq.requeue', payload: { deadLetterId: p.id }, target: { deadLetter: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/dlq/:id/discard', tag, role: 'operator', service: SERVICE, summary: 'Give up on a dead letter for good (the reason is required)', params: IdParams, body: RequiredReasonBody, response: CommandOutcomeSchema })
  discard(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof RequiredReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'discard_dead_letter', action: 'dlq.discard', payload: { deadLetterId: p.id }, target: { deadLetter: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({
    method: 'POST',
    path: '/dlq/requeue',
    tag,
    role: 'operator',
    service: SERVICE,
    summary: `Requeue the open dead letters matching a filter (at most ${MAX_BULK_DEAD_LETTERS} a request; an empty filter needs all: true)`,
    body: BulkRequeueBody,
    response: BulkDlqOutcomeSchema,
  })
  requeueMany(@Input('body') b: z.output<typeof BulkRequeueBody>, @Caller() caller: Principal) {
    return this.bulk('requeue', b.filter, b.reason, caller);
  }

  @Endpoint({
    method: 'POST',
    path: '/dlq/discard',
    tag,
    role: 'operator',
    service: SERVICE,
    summary: `Discard the open dead letters matching a filter (the reason is required; at most ${MAX_BULK_DEAD_LETTERS} a request)`,
    body: BulkDiscardBody,
    response: BulkDlqOutcomeSchema,
  })
  discardMany(@Input('body') b: z.output<typeof BulkDiscardBody>, @Caller() caller: Principal) {
    return this.bulk('discard', b.filter, b.reason, caller);
  }

  /**
   * Resolves the matching open dead letters from the executor's projection
   * (read-only), sends them as ONE command, and once its outcome arrived
   * answers with what happened to each: the executor recorded that before
   * the outcome event, so it is all there to read.
   */
  private async bulk(action: BulkAction, filter: DlqFilter, reason: string | undefined, caller: Principal) {
    const { command, done } = BULK[action];
    const { since, ...rest } = filter;
    const { ids, truncated } = await this.reads.matchDeadLetters({ ...rest, ...(since !== undefined && { sinceMs: durationMs(since) }) }, MAX_BULK_DEAD_LETTERS);
    if (ids.length === 0) return { matched: 0, [done]: 0, skipped: [], truncated: false };
    const reply = await this.commands.dispatch(
      { service: SERVICE, command, action: `dlq.${action}`, payload: { ids }, target: { ...describe(filter), deadLetters: String(ids.length) }, reason },
      caller,
    );
    // 202: the executor has not finished; the command id is how to find its outcome later.
    if (reply.status !== 200) return reply;
    const outcome = reply.body as { commandId: string; event: unknown };
    const rows = await this.reads.deadLetterActions(outcome.commandId);
    return new HttpReply(200, {
      matched: ids.length,
      [done]: rows.filter((r) => r.outcome === done).length,
      skipped: rows.filter((r) => r.outcome === 'skipped').map((r) => ({ id: r.id, reason: r.reason ?? 'skipped' })),
      truncated,
      commandId: outcome.commandId,
      event: outcome.event,
    });
  }
}

/** The filter as audit-record target fields: `workflow` also puts the request on that workflow's timeline. */
function describe(filter: DlqFilter): Record<string, string> {
  return Object.fromEntries(Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined));
}
