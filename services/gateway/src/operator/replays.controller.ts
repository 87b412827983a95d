import { Controller, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import type { z } from 'zod';
import { IllegalStateError, NotFoundError } from '@steward/contracts';
import type { Principal } from '../auth/roles.decorator';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CommandDispatcher } from './command.dispatcher';
import { CommandOutcomeSchema, IdParams, ReasonBody, StartReplayBody } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';
import { READ_POOL } from '../reads/read-pool.token';
import { ReplayReadsRepository, replayStatus, UNDEFINED_TABLE, type ReplayRow } from '../reads/replay-reads.repository';
import { DatasetReadsRepository } from '../reads/dataset-reads.repository';
import { replayDiff } from '../reads/replay-diff.reads';
import { DiffQuery } from './datasets.schemas';

const SERVICE = 'ledger';
const tag = 'replays';

@Controller()
export class ReplaysController {
  private readonly replays: ReplayReadsRepository;

  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(ReadModelGate) private readonly reads: ReadModelGate,
    @Inject(READ_POOL) private readonly readPool: Pool,
  ) {
    this.replays = new ReplayReadsRepository(readPool);
  }

  @Endpoint({ method: 'POST', path: '/replays', tag, role: 'operator', service: SERVICE, summary: 'Replay raw captures of a source or workflow through a transform version, or re-publish stored events to rebuild a service (rebuild)', body: StartReplayBody, response: CommandOutcomeSchema })
  start(@Input('body') b: z.output<typeof StartReplayBody>, @Caller() caller: Principal) {
    return this.commands.dispatch(
      { service: SERVICE, command: 'start_replay', action: b.rebuild === undefined ? 'replays.start' : 'replays.rebuild', payload: b, ...(b.workflow !== undefined && { target: { workflow: b.workflow } }) },
      caller,
    );
  }

  @Endpoint({ method: 'POST', path: '/replays/:id/cancel', tag, role: 'operator', service: SERVICE, summary: 'Stop a replay: nothing more is published for it (recorded as replay.failed, code cancelled)', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  cancel(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'cancel_replay', action: 'replays.cancel', payload: { replayId: p.id }, target: { replay: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'GET', path: '/replays/:id', tag, role: 'viewer', service: SERVICE, summary: 'Progress of a replay: done/total, rate and ETA', params: IdParams })
  async status(@Input('params') p: z.output<typeof IdParams>) {
    let row;
    try {
      row = await this.replays.find(p.id);
    } catch (err) {
      // No table yet: the ledger never started against this database.
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return this.reads.unavailable(SERVICE, 'replays');
      throw err;
    }
    if (row === undefined) throw new NotFoundError('replay', p.id);
    return replayStatus(row, new Date());
  }

  // Diffs are the transformer's data (its dataset tables), so this route names it.
  @Endpoint({ method: 'GET', path: '/replays/:id/diff', tag, role: 'viewer', service: 'transformer', summary: "Compare a replay's dataset version with the version current when it started: added, changed, removed rows and quarantine counts", params: IdParams, query: DiffQuery })
  async diff(@Input('params') p: z.output<typeof IdParams>, @Input('query') q: z.output<typeof DiffQuery>) {
    try {
      return await replayDiff(new DatasetReadsRepository(this.readPool), this.reads, p.id, q.limit ?? 100);
    } catch (err) {
      // The transformer never sees a rebuild: "not found" would deny a replay that `replay status` shows.
      if (err instanceof NotFoundError && (await this.kindOf(p.id)) === 'rebuild') {
        throw new IllegalStateError(`replay ${p.id} is a projection rebuild, which writes no dataset version to diff; its verdict is in steward verify`, { replayId: p.id, kind: 'rebuild' });
      }
      throw err;
    }
  }

  private async kindOf(replayId: string): Promise<ReplayRow['kind'] | undefined> {
    try {
      return (await this.replays.find(replayId))?.kind;
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return undefined;
      throw err;
    }
  }
}
