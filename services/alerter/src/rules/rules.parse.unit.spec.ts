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
  it('scopes the per-step, per-source and per-service signals and names misplaced filters', () => {
    const { rules } = parseRuleFile(`
rules:
  - { name: parse-rate, signal: step_success_rate, workflows: [prices], steps: [parse], threshold: 0.9, window: 30m, minSamples: 5 }
  - { name: portal, signal: source_failure_rate, sources: [prices.fetch], threshold: 0.25, action: { type: disable_source, source: prices.fetch } }
  - { name: collector-dlq, signal: service_dead_letters, services: [collector], threshold: 10, severity: page }
  - { name: step-slow, signal: step_duration_baseline, summary: "{{workflow}}/{{step}} {{value}}% off" }
`);
    expect(rules.rules.map((r) => [r.name, r.steps ?? r.sources ?? r.services ?? null])).toEqual([
      ['parse-rate', ['parse']],
      ['portal', ['prices.fetch']],
      ['collector-dlq', ['collector']],
      ['step-slow', null],
    ]);
    expect(rules.rules[0]).toMatchObject({ window: 1_800_000, minSamples: 5 });

    expect(
      issuesOf(`
rules:
  - { name: a, signal: step_success_rate, threshold: 2 }
  - { name: b, signal: consecutive_failures, steps: [parse] }
  - { name: c, signal: dead_letters, sources: [x] }
  - { name: d, signal: source_failure_rate, services: [collector] }
  - { name: e, signal: service_dead_letters, action: { type: pause_workflow } }
  - { name: f, signal: source_failure_rate, threshold: 1.5 }
`),
    ).toEqual([
      'rules[0].threshold: step_success_rate needs a threshold between 0 and 1, e.g. 0.9',
      'rules[1].steps: steps only applies to step_success_rate, step_duration_baseline, not consecutive_failures',
      'rules[2].sources: sources only applies to source_failure_rate, not dead_letters',
      'rules[3].services: services only applies to service_dead_letters, not source_failure_rate',
      'rules[4].action: pause_workflow needs a workflow signal, not service_dead_letters',
      'rules[5].threshold: source_failure_rate needs a threshold between 0 and 1, e.g. 0.5',
    ]);
  });
});
