import { EVENT_TYPE } from './envelope';

const TOKEN = /^[A-Za-z0-9_-]+$/;

function token(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new Error(`${what} "${value}" is not a valid subject token`);
  return value;
}

/**
 * Subject and stream names, optionally under a namespace (tests use one per
 * file; production leaves it empty). Every consumer needs ONE filter subject:
 * NATS 2.9 has no multi-filter consumers.
 *
 *   <ns.>steward.events.<category>.<name>[.<route>]   domain events (relay)
 *   <ns.>steward.cmd.<service>.<name>                 commands (work queue)
 *   <ns.>steward.replay.<replayId>.<category>.<name>  replays for one consumer
 *   <ns.>steward.dlq.<consumer>                       dead letters
 */
export class Subjects {
  readonly prefix: string;
  readonly streamPrefix: string;

  constructor(readonly namespace = '') {
    if (namespace !== '') token(namespace, 'namespace');
    this.prefix = namespace === '' ? 'steward' : `${namespace}.steward`;
    this.streamPrefix = namespace === '' ? '' : `${namespace.toUpperCase()}_`;
  }

  event(type: string, route?: string): string {
    if (!EVENT_TYPE.test(type)) throw new Error(`event type "${type}" must be <category>.<name>`);
    return route === undefined ? `${this.prefix}.events.${type}` : `${this.prefix}.events.${type}.${token(route, 'route')}`;
  }

  /**
   * Filter for one event type or, with no type, all events. A routed type
   * (its registry definition has `route`) is always published with a route
   * token, so its filter is `<type>.>`; an unrouted type's is exact.
   */
  events(type?: string, options: { routed?: boolean } = {}): string {
    if (type === undefined) return `${this.prefix}.events.>`;
    return options.routed ? `${this.event(type)}.>` : this.event(type);
  }

  category(category: string): string {
    return `${this.prefix}.events.${token(category, 'category')}.>`;
  }

  command(service: string, name: string): string {
    return `${this.prefix}.cmd.${token(service, 'service')}.${token(name, 'command')}`;
  }

  commands(service?: string): string {
    return service === undefined ? `${this.prefix}.cmd.>` : `${this.prefix}.cmd.${token(service, 'service')}.>`;
  }

  replay(replayId: string, type?: string): string {
    const base = `${this.prefix}.replay.${token(replayId, 'replay id')}`;
    return type === undefined ? `${base}.>` : `${base}.${type}`;
  }

  replays(): string {
    return `${this.prefix}.replay.>`;
  }

  dlq(consumer?: string): string {
    return consumer === undefined ? `${this.prefix}.dlq.>` : `${this.prefix}.dlq.${token(consumer, 'consumer')}`;
  }

  stream(name: 'EVENTS' | 'COMMANDS' | 'REPLAY' | 'DLQ'): string {
    return `${this.streamPrefix}STEWARD_${name}`;
  }

  /** `<ns.>steward.events.run.started.q1` -> `run.started`. */
  typeOf(subject: string): string | undefined {
    const rest = subject.startsWith(`${this.prefix}.events.`) ? subject.slice(this.prefix.length + 8) : undefined;
    if (rest === undefined) return undefined;
    const [category, name] = rest.split('.');
    return category && name ? `${category}.${name}` : undefined;
  }
}
