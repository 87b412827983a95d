import { Subjects, uuidv7 } from '@steward/contracts';
import { encodeJson } from './envelope.codec';
import { routeMessage } from './message.router';
import { envelope, registryOf } from './test.fixtures';

const subjects = new Subjects('unit');
const registry = registryOf('order.placed');
const all = () => true;
const msg = (body: unknown, subject = subjects.event('order.placed')) => ({
  subject,
  data: typeof body === 'string' ? new TextEncoder().encode(body) : encodeJson(body),
});

describe('message routing', () => {
  it('hands a handled event its envelope with data upcast to the current version', () => {
    const route = routeMessage(msg(envelope('order.placed', { count: 3 }, { dataschemaversion: 1 })), 'EVENTS', subjects, registry, all);
    expect(route).toMatchObject({ kind: 'handle', pattern: 'order.placed', data: { data: { n: 3 }, dataschemaversion: 2 } });
  });

  it.each([
    ['invalid JSON', '{"specversion":', 'invalid_envelope'],
    ['an invalid envelope', { hello: 'world' }, 'invalid_envelope'],
    ['an unregistered type', envelope('order.vanished', { n: 1 }), 'unknown_type'],
    ['a payload failing its schema', envelope('order.placed', { n: 'three' }), 'schema_invalid'],
    ['a version newer than the registry knows', envelope('order.placed', { n: 1 }, { dataschemaversion: 3 }), 'schema_invalid'],
  ])('dead-letters %s', (_, body, reason) => {
    expect(routeMessage(msg(body), 'EVENTS', subjects, registry, all)).toMatchObject({ kind: 'dead_letter', reason });
  });

  it('skips a registered event this service has no handler for, without validating it', () => {
    expect(routeMessage(msg(envelope('order.placed', { n: 'bad' })), 'EVENTS', subjects, registry, () => false)).toEqual({ kind: 'skip' });
  });

  const command = (over: object = {}) => ({
    commandId: uuidv7(),
    service: 'orders',
    name: 'cancel',
    payload: {},
    correlationId: 'c',
    issuedAt: new Date().toISOString(),
    ...over,
  });

  it('routes a command to its cmd:<name> handler', () => {
    const c = command();
    expect(routeMessage(msg(c, subjects.command('orders', 'cancel')), 'COMMANDS', subjects, registry, all)).toMatchObject({
      kind: 'handle',
      pattern: 'cmd:cancel',
      data: c,
    });
  });

  it('dead-letters a command nobody handles, an invalid one, and one whose subject disagrees with its body', () => {
    const on = subjects.command('orders', 'cancel');
    expect(routeMessage(msg(command(), on), 'COMMANDS', subjects, registry, () => false)).toMatchObject({ reason: 'unknown_command' });
    expect(routeMessage(msg(command({ issuedAt: 'yesterday' }), on), 'COMMANDS', subjects, registry, all)).toMatchObject({ reason: 'invalid_envelope' });
    expect(routeMessage(msg(command({ name: 'other' }), on), 'COMMANDS', subjects, registry, all)).toMatchObject({ reason: 'invalid_envelope' });
  });
});
