import { Controller, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import { durationMs } from '../http/api.schemas';
import { Endpoint, Input } from '../http/endpoint.decorator';
import { OpsReportRepository } from '../reads/ops-report.repository';
import { OpsReportService } from '../reads/ops-report.service';
import { READ_POOL } from '../reads/read-pool.token';
import { OpsReportQuery } from './operator.schemas';

const OpsReportSchema = z.looseObject({
  since: z.string(),
  generatedAt: z.string(),
  missing: z.array(z.object({ part: z.string(), service: z.string(), reason: z.string().optional() })),
});

@Controller()
export class ReportsController {
  private readonly report: OpsReportService;

  constructor(@Inject(READ_POOL) pool: Pool) {
    this.report = new OpsReportService(new OpsReportRepository(pool));
  }

  /**
   * Each part comes from the projection of the service that owns it. A part
   * whose service never ran here (no table) is listed under `missing` with
   * the service to start, never shown as zeros.
   */
  @Endpoint({ method: 'GET', path: '/reports/ops', tag: 'reports', role: 'viewer', summary: 'Uptime, success rate, MTTD, MTTA, MTTR, alert fatigue, incidents by severity, spend and capacity; says which parts are missing and why', query: OpsReportQuery, response: OpsReportSchema })
  ops(@Input('query') q: z.output<typeof OpsReportQuery>) {
    const since = q.since ?? '30d';
    return this.report.build(since, durationMs(since));
  }
}
