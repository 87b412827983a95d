import { EventRegistry, type EventDefinition } from '@steward/contracts';

/**
 * The registry the scheduler's event consumer routes with. The scheduler
 * receives every event (an `on:` schedule may name any type) and nearly all
 * of them trigger nothing, so validating each payload on the way in was a
 * tenth of its CPU. Types with a handler of their own (`eager`) are
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
