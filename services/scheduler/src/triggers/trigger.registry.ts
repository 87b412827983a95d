import { EventRegistry, type EventDefinition } from '@steward/contracts';

/**
 * The registry the scheduler's event consumers route with. An event that
 * reaches a trigger durable often triggers nothing (its workflows are
 * paused, or their `where:` does not match), so its payload is not
 * validated on the way in. Types with a handler of their own (`eager`) are
 * validated on delivery as before; for the others a current-version payload
 * is passed on as it is, and the trigger service validates it only when a
 * workflow's trigger names its type (triggerPayload). Older versions are
 * still upcast and validated here: upcasting needs the old schema anyway.
 */
export class TriggerRoutingRegistry extends EventRegistry {
  constructor(
    defs: Iterable<EventDefinition>,
    private readonly eager: ReadonlySet<string>,
  ) {
    super(defs);
  }

  override upcast<D = unknown>(type: string, version: number, data: unknown): { version: number; data: D } {
    if (!this.eager.has(type) && this.has(type) && version === this.get(type).version) return { version, data: data as D };
    return super.upcast<D>(type, version, data);
  }
}
