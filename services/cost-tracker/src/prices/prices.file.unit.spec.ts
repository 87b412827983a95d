import { ValidationError } from '@steward/contracts';
import { parsePricesFile } from './prices.file';

function issuesOf(text: string): string[] {
  try {
    parsePricesFile(text, 'UTC');
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a validation error');
}

describe('prices file', () => {
  it('keeps decimals exactly as written and turns USD into micro-USD rates', () => {
    const prices = parsePricesFile(
      `prices:\n  - match: "api:openai:gpt-*:tokens"\n    unit: tokens\n    usd: 0.0000015\n    from: 2026-12-15T00:00:00+00:00\n  - match: cpu-seconds\n    usd: 0.1\n    from: 2026-12-01\n`,
      'Pacific/Auckland',
    );
    expect(prices).toEqual([
      { match: 'api:openai:gpt-*:tokens', unit: 'tokens', rateMicros: '1.5', from: '2026-12-15T00:00:00.000Z' },
      // a bare date is local midnight in the budget time zone
      { match: 'cpu-seconds', rateMicros: '100000', from: '2026-11-30T11:00:00.000Z' },
    ]);
  });

  it('names the path of every bad field', () => {
    expect(issuesOf('prices:\n  - match: "cpu seconds"\n    usd: -1\n    from: yesterday\n    colour: red\n')).toEqual([
      expect.stringMatching(/^prices\[0\]\.match: expected a resource name/),
      expect.stringMatching(/^prices\[0\]\.usd: expected a non-negative decimal/),
      expect.stringMatching(/^prices\[0\]\.from: expected a date/),
      'prices[0].colour: unknown field',
    ]);
    expect(issuesOf('prices: []\n')).toEqual(['prices: list at least one price']);
    expect(issuesOf('prices:\n  - match: a\n    usd: 1\n    from: 2026-01-01\n  - match: a\n    usd: 2\n    from: 2026-01-01\n')).toEqual(['prices[1]: same match, unit and from as prices[0]']);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(issuesOf('prices:\n  - match: [unclosed\n')[0]).toMatch(/^line \d+:\d+: /);
  });
});
