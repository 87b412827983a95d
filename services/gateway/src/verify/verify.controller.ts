import { Controller, Inject } from '@nestjs/common';
import { z } from 'zod';
import { Duration, durationMs } from '../http/api.schemas';
import { Endpoint, Input } from '../http/endpoint.decorator';
import { VerifyService } from './verify.service';

export const VerifyQuery = z.strictObject({
  since: Duration.optional().meta({ description: 'only check what the stream received this far back' }),
});

const VerifyReportSchema = z.object({
  ok: z.boolean(),
  checkedAt: z.string(),
  since: z.string().optional(),
  checks: z.array(z.looseObject({ name: z.string(), ok: z.boolean(), detail: z.string() })),
});

@Controller()
export class VerifyController {
  constructor(@Inject(VerifyService) private readonly verify: VerifyService) {}

  @Endpoint({
    method: 'GET',
    path: '/verify',
    tag: 'verify',
    role: 'viewer',
    summary: 'Store vs JetStream (exactly once, in order), relay lag, and every projection vs a rebuild; 200 with ok:false when something is off',
    query: VerifyQuery,
    response: VerifyReportSchema,
  })
  run(@Input('query') query: z.output<typeof VerifyQuery>) {
    return this.verify.run(query.since === undefined ? undefined : durationMs(query.since));
  }
}
