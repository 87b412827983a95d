import type { z } from 'zod';
import { ValidationError } from './errors';
import { EVENT_TYPE } from './envelope';
import { issuesOf } from './zod-issues';

/** One earlier schema version of an event type and how to lift it one version up. */
export interface EventHistoryEntry {
  version: number;
  schema: z.ZodType;
  /** Turns data of `version` into data of `version + 1`. */
  upcast: (data: any) => unknown;
}

export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  type: T;
  /** Current schema version; writers always write this one. */
  version: number;
  schema: S;
  description: string;
  /** Older versions, read-only: upcast on read, never rewritten in the store. */
  history?: EventHistoryEntry[];
  /** Optional last subject token, e.g. the task queue, so one consumer needs one filter. */
  route?: (data: z.infer<S>) => string | undefined;
}

export type EventData<D extends EventDefinition> = z.infer<D['schema']>;

export function defineEvent<T extends string, S extends z.ZodType>(
  def: EventDefinition<T, S>,
): EventDefinition<T, S> {
  if (!EVENT_TYPE.test(def.type)) {
    throw new Error(`event type "${def.type}" must be <category>.<name> in snake_case`);
  }
  const versions = (def.history ?? []).map((h) => h.version).sort((a, b) => a - b);
  versions.forEach((v, i) => {
    const next = versions[i + 1] ?? def.version;
    if (next !== v + 1) throw new Error(`${def.type}: history must cover versions ${versions[0]}..${def.version - 1} without gaps`);
  });
  return def;
}

export class UnknownEventTypeError extends ValidationError {
  constructor(type: string) {
    super(`unknown event type "${type}"`, [{ path: 'type', message: `"${type}" is not registered` }], { type });
  }
}

/**
 * Every event type Steward knows, with its schema versions. Readers call
 * `upcast` so a handler only ever sees the current shape of an event.
 */
export class EventRegistry {
  private readonly defs = new Map<string, EventDefinition>();

  constructor(defs: Iterable<EventDefinition> = []) {
    for (const d of defs) this.register(d);
  }

  register(def: EventDefinition): this {
    const existing = this.defs.get(def.type);
    if (existing && existing !== def) throw new Error(`event type ${def.type} registered twice`);
    this.defs.set(def.type, def);
    return this;
  }

  has(type: string): boolean {
    return this.defs.has(type);
  }

  get(type: string): EventDefinition {
    const def = this.defs.get(type);
    if (!def) throw new UnknownEventTypeError(type);
    return def;
  }

  all(): EventDefinition[] {
    return [...this.defs.values()].sort((a, b) => a.type.localeCompare(b.type));
  }

  /** Validates a new event's payload against the current version. */
  validate<D = unknown>(type: string, data: unknown): { version: number; data: D } {
    const def = this.get(type);
    const parsed = def.schema.safeParse(data);
    if (!parsed.success) {
      throw new ValidationError(`invalid ${type} payload`, issuesOf(parsed.error, 'data'), { type });
    }
    return { version: def.version, data: parsed.data as D };
  }

  /** Lifts stored data of any known version to the current version and validates it. */
  upcast<D = unknown>(type: string, version: number, data: unknown): { version: number; data: D } {
    const def = this.get(type);
    if (version > def.version) {
      throw new ValidationError(`${type} v${version} is newer than this service knows (v${def.version})`, [
        { path: 'dataschemaversion', message: `unsupported version ${version}` },
      ]);
    }
    let current = data;
    for (let v = version; v < def.version; v++) {
      const step = def.history?.find((h) => h.version === v);
      if (!step) {
        throw new ValidationError(`${type}: no upcaster from v${v}`, [
          { path: 'dataschemaversion', message: `unknown version ${v}` },
        ]);
      }
      const old = step.schema.safeParse(current);
      if (!old.success) throw new ValidationError(`invalid ${type} v${v} payload`, issuesOf(old.error, 'data'));
      current = step.upcast(old.data);
    }
    return this.validate<D>(type, current);
  }

  /** The route token, or undefined when the type has none or the payload cannot give one. */
  routeOf(type: string, data: unknown): string | undefined {
    const route = this.defs.get(type)?.route;
    if (!route) return undefined;
    try {
      return route(data as never);
    } catch {
      // A payload of an older shape must not stop a publisher; it goes unrouted.
      return undefined;
    }
  }
}
