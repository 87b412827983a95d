import { parseWorkflow, type StepDefinition } from '@steward/workflow';
import { describeRequest, parseCollectSpec, requestUrl } from './collect-spec';

// The executor queues a collect step with `spec: { ...step.collect }`: what
// the workflow parser produces must be what the collector reads.
function collectSpecOf(yaml: string): Record<string, unknown> {
  const def = parseWorkflow(`id: prices\nowner: pricing\nrunbook: docs/runbooks/prices.md\nsteps:\n${yaml}`);
  const step = def.steps[0] as Extract<StepDefinition, { kind: 'collect' }>;
  return { ...step.collect };
}

describe('collect spec', () => {
  it('reads every field the workflow file allows', () => {
    const spec = parseCollectSpec(
      collectSpecOf(`  - id: fetch
    collect:
      http:
        url: https://portal.example/prices.csv
        method: POST
        headers: { Accept: text/csv }
        query: { region: eu, page: 2 }
        body: { since: "2026-12-01" }
        auth: { secretRef: portal-key, query: api_key }
      rateLimit: 10/min
      concurrency: 2
      timeout: 20s
      maxBodySize: 10MB
      maxRedirects: 3
      accept: [text/csv, Application/*]
`),
    );
    expect(spec).toEqual({
      source: { kind: 'http', url: 'https://portal.example/prices.csv', method: 'POST', headers: { Accept: 'text/csv' }, query: { region: 'eu', page: 2 }, body: { since: '2026-12-01' }, auth: { secretRef: 'portal-key', query: 'api_key' } },
      rateLimit: { count: 10, perMs: 60_000 },
      concurrency: 2,
      requestTimeoutMs: 20_000,
      maxBodyBytes: 10 * 1024 * 1024,
      maxRedirects: 3,
      accept: ['text/csv', 'application/*'],
    });
    const described = describeRequest(spec);
    // The secret goes on the wire, never into what is recorded.
    expect(described.target).toBe('https://portal.example/prices.csv?page=2&region=eu');
    expect(requestUrl(spec.source as never, 's3cret').toString()).toBe('https://portal.example/prices.csv?page=2&region=eu&api_key=s3cret');
    expect(described.detail).toMatchObject({ headers: { accept: 'text/csv' }, auth: { secretRef: 'portal-key' } });
  });

  it('reads file and handler sources', () => {
    expect(parseCollectSpec(collectSpecOf('  - id: a\n    collect: { file: { glob: "drops/*.csv" } }\n'))).toEqual({ source: { kind: 'file', glob: 'drops/*.csv' } });
    expect(describeRequest(parseCollectSpec(collectSpecOf('  - id: a\n    collect: { handler: portal-scrape }\n')))).toMatchObject({ kind: 'custom', target: 'portal-scrape' });
  });

  it('says where a queued spec it cannot serve is wrong', () => {
    expect(() => parseCollectSpec({ source: { kind: 'http', url: 'ftp://x' } })).toThrow('the collect spec is not valid at spec.source.url: expected an http(s) URL');
    expect(() => parseCollectSpec({ source: { kind: 'file', path: 'a', glob: 'b' } })).toThrow('spec.source: expected exactly one of path, glob');
    expect(() => parseCollectSpec({})).toThrow(/spec\.source/);
  });

  it('rejects bad collect fields in the workflow file, naming the path', () => {
    expect(() => collectSpecOf('  - id: a\n    collect: { handler: h, maxBodySize: 2TB }\n')).toThrow(/steps\[0\]\.collect\.maxBodySize: expected a size such as 512KB, 10MB or a number of bytes, from 1 byte to 1GB/);
    expect(() => collectSpecOf('  - id: a\n    collect: { handler: h, accept: [csv] }\n')).toThrow(/steps\[0\]\.collect\.accept\[0\]: expected a content type/);
    expect(() => collectSpecOf('  - id: a\n    collect: { http: { url: "https://x.example", auth: { secretRef: k, query: q, header: X-Key } } }\n')).toThrow(/collect\.http\.auth: expected either query or header\/scheme, not both/);
  });
});
