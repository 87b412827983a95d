import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import { PageQuery } from '../http/api.schemas';
import { Endpoint, Input } from '../http/endpoint.decorator';
import { IdParams } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'transformer';
const tag = 'datasets';

@Controller()
export class DatasetsController {
  constructor(@Inject(ReadModelGate) private readonly reads: ReadModelGate) {}

  @Endpoint({ method: 'GET', path: '/datasets', tag, role: 'viewer', service: SERVICE, summary: 'Datasets produced by transforms', query: PageQuery })
  list(@Input('query') _q: z.output<typeof PageQuery>) {
    return this.reads.unavailable(SERVICE, 'datasets');
  }

  @Endpoint({ method: 'GET', path: '/datasets/:id', tag, role: 'viewer', service: SERVICE, summary: 'One dataset: schema, versions, freshness', params: IdParams })
  show(@Input('params') _p: z.output<typeof IdParams>) {
    return this.reads.unavailable(SERVICE, 'datasets');
  }

  @Endpoint({ method: 'GET', path: '/datasets/:id/quarantine', tag, role: 'viewer', service: SERVICE, summary: 'Records a transform refused for this dataset, and why', params: IdParams, query: PageQuery })
  quarantine(@Input('params') _p: z.output<typeof IdParams>, @Input('query') _q: z.output<typeof PageQuery>) {
    return this.reads.unavailable(SERVICE, 'datasets');
  }
}
