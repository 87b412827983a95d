import { globMatches, PriceBook, priceInForce, type PriceEntry } from './price.match';

const at = (s: string) => new Date(s);

describe('price matching', () => {
  it('matches globs where * spans any characters, including colons', () => {
    expect(globMatches('cpu-seconds', 'cpu-seconds')).toBe(true);
    expect(globMatches('cpu-seconds', 'cpu-seconds-x')).toBe(false);
    expect(globMatches('api:openai:gpt-*:tokens', 'api:openai:gpt-4o:tokens')).toBe(true);
    expect(globMatches('api:openai:gpt-*:tokens', 'api:openai:gpt-4o:calls')).toBe(false);
    expect(globMatches('api:*', 'api:x:y:z')).toBe(true);
    expect(globMatches('a*b*c', 'abc')).toBe(true);
    expect(globMatches('a*b*c', 'acb')).toBe(false);
    expect(globMatches('ab*ba', 'aba')).toBe(false);
  });

  const prices: PriceEntry[] = [
    { match: 'api:*', rateMicros: '10', from: at('2026-01-01T00:00:00Z') },
    { match: 'api:openai:gpt-*:tokens', rateMicros: '2', from: at('2026-01-01T00:00:00Z') },
    { match: 'api:openai:gpt-*:tokens', rateMicros: '1.5', from: at('2026-12-15T00:00:00Z') },
    { match: 'api:openai:gpt-4o:tokens', unit: 'tokens', rateMicros: '3', from: at('2026-06-01T00:00:00Z') },
  ];

  it('uses the price in force at the usage time', () => {
    expect(priceInForce(prices, 'api:openai:gpt-3:tokens', 'tokens', at('2026-12-14T23:59:59Z'))?.entry.rateMicros).toBe('2');
    expect(priceInForce(prices, 'api:openai:gpt-3:tokens', 'tokens', at('2026-12-15T00:00:00Z'))?.entry.rateMicros).toBe('1.5');
    expect(priceInForce(prices, 'api:openai:gpt-3:tokens', 'tokens', at('2025-12-31T00:00:00Z'))).toBeUndefined();
  });

  it('prefers the most specific pattern, then the unit filter', () => {
    expect(priceInForce(prices, 'api:openai:gpt-4o:tokens', 'tokens', at('2026-07-01T00:00:00Z'))?.entry.rateMicros).toBe('3');
    expect(priceInForce(prices, 'api:openai:gpt-4o:tokens', 'other', at('2026-07-01T00:00:00Z'))?.entry.rateMicros).toBe('2');
    expect(priceInForce(prices, 'api:stripe:charges:calls', 'calls', at('2026-07-01T00:00:00Z'))?.entry.rateMicros).toBe('10');
  });

  it('gives the same price from a price book as from the list, for every resource, unit and time', () => {
    const list: PriceEntry[] = [
      ...prices,
      { match: 'api:openai:gpt-4o:tokens', rateMicros: '4', from: at('2026-06-01T00:00:00Z') }, // same pattern and start as a unit-filtered one
      { match: 'api:openai:*', rateMicros: '5', from: at('2026-03-01T00:00:00Z') },
      { match: 'cpu-seconds', rateMicros: '7', from: at('2026-02-01T00:00:00Z') },
      { match: 'cpu-seconds', rateMicros: '8', from: at('2026-02-01T00:00:00Z') },
    ];
    const book = new PriceBook(list);
    const resources = ['api:openai:gpt-4o:tokens', 'api:openai:gpt-3:tokens', 'api:openai:dall-e:images', 'api:stripe:charges:calls', 'cpu-seconds', 'memory-gb-seconds'];
    const times = ['2025-12-31T23:59:59Z', '2026-01-01T00:00:00Z', '2026-02-15T00:00:00Z', '2026-05-31T23:59:59Z', '2026-06-01T00:00:00Z', '2026-12-15T00:00:00Z'].map(at);
    let priced = 0;
    for (const resource of resources) {
      for (const unit of ['tokens', 'other']) {
        for (const t of times) {
          const expected = priceInForce(list, resource, unit, t)?.entry;
          expect(book.inForce(resource, unit, t)?.entry).toBe(expected);
          if (expected !== undefined) priced++;
        }
      }
    }
    expect(priced).toBeGreaterThan(40); // most cases priced, by several competing entries
  });
});
