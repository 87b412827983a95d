import { UnavailableError } from '@steward/contracts';
import type { ServiceDirectory } from '../presence/service.directory';

/**
 * Reads whose projection belongs to a service that is not built into this
 * gateway yet. They validate their input like every route, then say plainly
 * why there is no answer: the owning service is not running (503 naming it,
 * which the CLI turns into "needs the X service"), or it runs but the
 * gateway has no read model for it yet. Never an empty list that looks real.
 */
export class ReadModelGate {
  constructor(private readonly directory: ServiceDirectory) {}

  async unavailable(service: string, readModel: string): Promise<never> {
    if (!(await this.directory.isRunning(service))) {
      throw new UnavailableError(`the ${service} service is not running`, { service });
    }
    throw new UnavailableError(`the gateway has no ${readModel} read model yet; it arrives with the ${service} service's projections`, { readModel });
  }
}
