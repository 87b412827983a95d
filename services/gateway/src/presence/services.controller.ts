import { Controller, Inject } from '@nestjs/common';
import { z } from 'zod';
import { Endpoint, Input } from '../http/endpoint.decorator';
import { SERVICE_DIRECTORY, type ServiceDirectory } from './service.directory';

const ServicesQuery = z.strictObject({});

const ServicesSchema = z.object({
  items: z.array(
    z.object({ service: z.string(), instance: z.string(), lastSeen: z.string(), capabilities: z.array(z.string()), startedAt: z.string().optional(), version: z.string().optional() }),
  ),
});

@Controller()
export class ServicesController {
  constructor(@Inject(SERVICE_DIRECTORY) private readonly directory: ServiceDirectory) {}

  @Endpoint({ method: 'GET', path: '/services', tag: 'services', role: 'viewer', summary: 'Running service instances, from their presence heartbeats', query: ServicesQuery, response: ServicesSchema })
  async list(@Input('query') _q: z.output<typeof ServicesQuery>) {
    return { items: (await this.directory.list()).sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance)) };
  }
}
