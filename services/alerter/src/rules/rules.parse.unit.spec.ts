import { ValidationError } from '@steward/contracts';
import { parseRuleFile } from './rules.parse';

function issuesOf(yaml: string): string[] {
  try {
    parseRuleFile(yaml, 'rules.yaml');
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected the file to be rejected');
}

describe('alert rule files', () => {
  it('parses durations, defaults and matchers', () => {
    const { rules, hash } = parseRuleFile(`
receivers:
  - name: ops
    slack: { url: "https://hooks.slack.example/x" }
route: { receiver: ops, groupWait: 10s }
rules:
  - name: breaker
    signal: consecutive_failures
    threshold: 5
    for: 2m
    keepFiringFor: 30s
    action: { type: pause_workflow }
inhibitions:
  - { sourceMatch: { severity: page }, targetMatch: [{ name: severity, value: ticket }], equal: [workflow] }
`);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rules.route).toMatchObject({ receiver: 'ops', groupWait: 10_000, groupInterval: 300_000, repeatInterval: 14_400_000, groupBy: ['alertname', 'workflow'] });
    expect(rules.rules[0]).toMatchObject({ for: 120_000, keepFiringFor: 30_000, severity: 'ticket', labels: {}, action: { type: 'pause_workflow' } });
    expect(rules.inhibitions[0]!.sourceMatch).toEqual([{ name: 'severity', value: 'page', isRegex: false, isEqual: true }]);
  });

  it('rejects the whole file with every error at its path', () => {
    expect(
      issuesOf(`
receivers:
  - name: ops
  - name: ops
    webhook: { url: "ftp://x" }
rules:
  - name: r
    signal: nonsense
escalations:
  - name: e
    owner: team
    severity: page
    steps: [{ after: 1m, receivers: [ghost] }]
`),
    ).toEqual(
      expect.arrayContaining([
        'receivers[0]: a receiver has exactly one of webhook, slack, pagerduty, email (got none)',
        'receivers[1].webhook.url: expected an http(s) URL',
        expect.stringMatching(/^rules\[0\]\.signal: /),
      ]),
    );
  });

  it('takes credentials from environment variables by name, one way or the other', () => {
    expect(issuesOf(`
receivers:
  - name: a
    slack: { url: "https://hooks.slack.example/x", urlEnv: SLACK_URL }
  - name: b
    pagerduty: {}
`)).toEqual(['receivers[0].slack: give exactly one of url, urlEnv', 'receivers[1].pagerduty: give exactly one of routingKey, routingKeyEnv']);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(issuesOf('rules: [\n  - name: x\n')[0]).toMatch(/^line \d+: /);
  });

  it('requires inhibitions to name their equal labels', () => {
    expect(issuesOf('inhibitions:\n  - { sourceMatch: { a: b }, targetMatch: { c: d } }\n')).toEqual([expect.stringMatching(/^inhibitions\[0\]\.equal: /)]);
  });
});
