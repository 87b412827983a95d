import { Controller, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import type { z } from 'zod';
import { NotFoundError, ValidationError } from '@steward/contracts';
import type { Principal } from '../auth/roles.decorator';
import { PageQuery } from '../http/api.schemas';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { DatasetReadsRepository, type DatasetRow, type QuarantineCursor } from '../reads/dataset-reads.repository';
import { READ_POOL } from '../reads/read-pool.token';
import { CommandDispatcher } from './command.dispatcher';
import { DatasetParams, PromoteBody, QuarantineQuery } from './datasets.schemas';
import { CommandOutcomeSchema } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'transformer';
const tag = 'datasets';
const DEFAULT_LIMIT = 50;
/** SQLSTATE undefined_table: the transformer has not created its tables in this database yet. */
const UNDEFINED_TABLE = '42P01';

@Controller()
export class DatasetsController {
  private readonly repository: DatasetReadsRepository;

  constructor(
    @Inject(ReadModelGate) private readonly gate: ReadModelGate,
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(READ_POOL) pool: Pool,
  ) {
    this.repository = new DatasetReadsRepository(pool);
  }

  @Endpoint({ method: 'GET', path: '/datasets', tag, role: 'viewer', service: SERVICE, summary: 'Datasets produced by transforms: current version, rows, quarantined, freshness', query: PageQuery })
  async list(@Input('query') q: z.output<typeof PageQuery>) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const after = q.cursor === undefined ? undefined : decode(q.cursor);
    const rows = await this.read(() => this.repository.listDatasets(limit, after));
    const items = rows.map(datasetItem);
    const last = rows.at(-1);
    return rows.length === limit && last ? { items, next: encode(last.dataset) } : { items };
  }

  @Endpoint({ method: 'GET', path: '/datasets/:id', tag, role: 'viewer', service: SERVICE, summary: 'One dataset: current version, every version with its transform and counts, freshness', params: DatasetParams })
  async show(@Input('params') p: z.output<typeof DatasetParams>) {
    const row = await this.read(() => this.repository.findDataset(p.id));
    if (!row) throw new NotFoundError('dataset', p.id);
    const versions = await this.read(() => this.repository.versions(p.id));
    return {
      ...datasetItem(row),
      promotedBy: row.promotedBy ?? undefined,
      promotedAt: row.promotedAt?.toISOString(),
      versions: versions.map((v) => ({ ...v, current: v.version === row.currentVersion, createdAt: v.createdAt.toISOString(), lastCompletedAt: v.lastCompletedAt?.toISOString(), replayId: v.replayId ?? undefined })),
    };
  }

  @Endpoint({ method: 'GET', path: '/datasets/:id/quarantine', tag, role: 'viewer', service: SERVICE, summary: 'Records a transform refused for this dataset, and why (newest first)', params: DatasetParams, query: QuarantineQuery })
  async quarantine(@Input('params') p: z.output<typeof DatasetParams>, @Input('query') q: z.output<typeof QuarantineQuery>) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const after = q.cursor === undefined ? undefined : decodeQuarantine(q.cursor);
    const rows = await this.read(() => this.repository.quarantine(p.id, { limit, ...(q.version !== undefined && { version: q.version }), ...(after && { after }) }));
    const items = rows.map((r) => ({
      id: `${r.captureId}:${r.rowIndex}`,
      dataset: p.id,
      version: r.version,
      captureId: r.captureId,
      transform: r.transform,
      row: r.rowIndex,
      path: r.issues.map((i) => i.path).join(', '),
      reason: r.reason,
      issues: r.issues,
      raw: r.raw,
      ...(r.replayId !== null && { replayId: r.replayId }),
      quarantinedAt: r.quarantinedAt.toISOString(),
    }));
    const last = rows.at(-1);
    return rows.length === limit && last ? { items, next: encode(JSON.stringify({ at: last.quarantinedAt.toISOString(), captureId: last.captureId, rowIndex: last.rowIndex })) } : { items };
  }

  @Endpoint({ method: 'POST', path: '/datasets/:id/promote', tag, role: 'operator', service: SERVICE, summary: 'Make a dataset version current (recorded with its actor)', params: DatasetParams, body: PromoteBody, response: CommandOutcomeSchema })
  promote(@Input('params') p: z.output<typeof DatasetParams>, @Input('body') b: z.output<typeof PromoteBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'promote_dataset_version', action: 'datasets.promote', payload: { dataset: p.id, version: b.version }, target: { dataset: p.id }, ...(b.reason !== undefined && { reason: b.reason }) }, caller);
  }

  private async read<T>(query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return this.gate.unavailable(SERVICE, 'datasets');
      throw err;
    }
  }
}

function datasetItem(r: DatasetRow) {
  return {
    id: r.dataset,
    currentVersion: r.currentVersion ?? undefined,
    transform: r.transform ?? undefined,
    records: r.rows,
    quarantined: r.quarantined,
    versions: r.versions,
    freshAt: r.lastCompletedAt?.toISOString(),
    updatedAt: (r.lastCompletedAt ?? r.createdAt).toISOString(),
  };
}

function encode(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function decode(cursor: string): string {
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (text === '') throw badCursor();
  return text;
}

/** A forged cursor must be a 400 here, not a cast error in Postgres (500). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeQuarantine(cursor: string): QuarantineCursor {
  try {
    const c = JSON.parse(decode(cursor)) as QuarantineCursor;
    if (typeof c.at === 'string' && !Number.isNaN(Date.parse(c.at)) && typeof c.captureId === 'string' && UUID.test(c.captureId) && Number.isInteger(c.rowIndex)) return c;
  } catch {
    // falls through to the error below
  }
  throw badCursor();
}

function badCursor(): ValidationError {
  return new ValidationError('query.cursor: not a cursor this list handed out', [{ path: 'query.cursor', message: 'not a cursor this list handed out' }]);
}
