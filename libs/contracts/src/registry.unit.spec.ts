import { z } from 'zod';
import { defineEvent, EventRegistry, UnknownEventTypeError, ValidationError } from './index';

const PriceV1 = z.object({ sku: z.string(), price: z.number() });
const PriceV2 = z.object({ sku: z.string(), amount: z.object({ value: z.number(), currency: z.string() }) });
const PriceChanged = defineEvent({
  type: 'pricing.price_changed',
  version: 2,
  description: 'A price changed.',
  schema: PriceV2,
  history: [{ version: 1, schema: PriceV1, upcast: (d: z.infer<typeof PriceV1>) => ({ sku: d.sku, amount: { value: d.price, currency: 'EUR' } }) }],
  route: (d) => d.sku,
});

describe('event registry', () => {
  const registry = new EventRegistry([PriceChanged]);

  it('upcasts an old stored version to the current shape on read', () => {
    expect(registry.upcast('pricing.price_changed', 1, { sku: 'a', price: 3 })).toEqual({
      version: 2,
      data: { sku: 'a', amount: { value: 3, currency: 'EUR' } },
    });
  });

  it('rejects an unknown type with a typed error naming the field', () => {
    expect(() => registry.validate('pricing.nope', {})).toThrow(UnknownEventTypeError);
    try {
      registry.validate('pricing.nope', {});
    } catch (e) {
      expect((e as ValidationError).issues).toEqual([{ path: 'type', message: '"pricing.nope" is not registered' }]);
    }
  });

  it('names the exact path of an invalid payload field', () => {
    try {
      registry.validate('pricing.price_changed', { sku: 'a', amount: { value: 'x', currency: 'EUR' } });
      throw new Error('expected a validation error');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues[0]!.path).toBe('data.amount.value');
    }
  });

  it('refuses versions newer than it knows', () => {
    expect(() => registry.upcast('pricing.price_changed', 3, {})).toThrow(/newer than this service knows/);
  });

  it('refuses a history with gaps', () => {
    expect(() =>
      defineEvent({ type: 'a.b', version: 3, description: '', schema: z.object({}), history: [{ version: 1, schema: z.object({}), upcast: (d) => d }] }),
    ).toThrow(/without gaps/);
  });

  it('exposes a route for subject mapping', () => {
    expect(registry.routeOf('pricing.price_changed', { sku: 'q1' })).toBe('q1');
  });
});
