import { Controller, Inject } from '@nestjs/common';
import { z } from 'zod';
import { Endpoint, Input } from '../http/endpoint.decorator';
import { SERVICE_DIRECTORY, type ServiceDirectory } from '../presence/service.directory';
import { OpsReportQuery } from './operator.schemas';

/** Each part of the ops report and the service whose projections it needs. */
const PARTS = [
  { part: 'mttd', service: 'alerter' },
  { part: 'mttr', service: 'alerter' },
  { part: 'successRate', service: 'executor' },
  { part: 'alertFatigue', service: 'alerter' },
  { part: 'capacity', service: 'executor' },
] as const;

const OpsReportSchema = z.looseObject({
  since: z.string(),
  generatedAt: z.string(),
  missing: z.array(z.object({ part: z.string(), service: z.string() })),
});

@Controller()
export class ReportsController {
  constructor(@Inject(SERVICE_DIRECTORY) private readonly directory: ServiceDirectory) {}

  /**
   * No part can be computed by the gateway yet: each needs its service's
   * projections. Parts whose service is down are listed as missing (the CLI
   * says which service to start); parts whose service runs say the report
   * does not cover them yet, rather than showing made-up zeros.
   */
  @Endpoint({ method: 'GET', path: '/reports/ops', tag: 'reports', role: 'viewer', summary: 'MTTD, MTTR, success rate, alert fatigue and capacity; says which parts are missing and why', query: OpsReportQuery, response: OpsReportSchema })
  async ops(@Input('query') q: z.output<typeof OpsReportQuery>) {
    const running = new Map(await Promise.all([...new Set(PARTS.map((p) => p.service))].map(async (s) => [s, await this.directory.isRunning(s)] as const)));
    const notYet = Object.fromEntries(PARTS.filter((p) => running.get(p.service)).map((p) => [p.part, { status: 'not covered by this gateway yet', service: p.service }]));
    return { since: q.since ?? '30d', generatedAt: new Date().toISOString(), ...notYet, missing: PARTS.filter((p) => !running.get(p.service)).map((p) => ({ ...p })) };
  }
}
