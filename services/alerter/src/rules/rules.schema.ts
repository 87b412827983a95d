import { z } from 'zod';
import { ALERT_SEVERITIES } from '@steward/contracts';
import { parseDuration, MAX_DURATION_MS } from '@steward/workflow';
import { templateVariables } from '../domain/template';

// The declarative alert rule file (`steward alerts rules apply -f FILE`).
// One file is the whole rule set: applying it replaces the previous one, so
// what is in the repository is what runs. Durations are human strings
// ("30s", "5m"); everything after parsing is in milliseconds.

const name = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lowercase name (letters, digits, - and _)');
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,99}$/, 'expected a label name');
const duration = (what: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: `expected a ${what} such as 30s, 5m or 2h, got "${text}"` });
      return z.NEVER;
    }
    return ms;
  });
const labelMap = z.record(labelName, z.string().max(500));

/** `{ name: value }` (equality) or a list of full matchers. */
const matchers = z.union([
  labelMap.transform((m) => Object.entries(m).map(([n, value]) => ({ name: n, value, isRegex: false, isEqual: true }))),
  z
    .array(
      z.strictObject({
        name: labelName,
        value: z.string().max(500),
        isRegex: z.boolean().default(false),
        isEqual: z.boolean().default(true),
      }),
    )
    .max(20)
    .superRefine((ms, ctx) =>
      ms.forEach((m, i) => {
        if (!m.isRegex) return;
        try {
          new RegExp(m.value);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: [i, 'value'], message: `invalid regular expression: ${(err as Error).message}` });
        }
      }),
    ),
]);

export const SIGNALS = [
  'slo_burn_rate',
  'success_rate',
  'duration_baseline',
  'consecutive_failures',
  'dead_letters',
  'heartbeat_missed',
  'data_freshness',
  'budget',
  'step_success_rate',
  'step_duration_baseline',
  'source_failure_rate',
  'service_dead_letters',
] as const;
export type Signal = (typeof SIGNALS)[number];

/** Signals evaluated per step of a workflow (label `step`). */
export const STEP_SIGNALS: readonly Signal[] = ['step_success_rate', 'step_duration_baseline'];
/** Signals not evaluated per workflow: per source (label `source`), per service (label `service`), per budget. */
export const NON_WORKFLOW_SIGNALS: readonly Signal[] = ['budget', 'source_failure_rate', 'service_dead_letters'];

/** Template variables every alert offers; labels add their own names. */
export const TEMPLATE_VARIABLES = ['workflow', 'owner', 'value', 'threshold', 'severity', 'alertname', 'since', 'last_error', 'step', 'source', 'service'];

const action = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('pause_workflow') }),
  z.strictObject({ type: z.literal('disable_source'), source: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal('scale_up'), service: z.string().min(1).max(100) }),
]);

const rule = z
  .strictObject({
    name,
    signal: z.enum(SIGNALS),
    /** Which workflows it watches; default every workflow. */
    workflows: z.array(z.string().min(1).max(63)).min(1).optional(),
    /** For step signals: which steps it watches; default every step. */
    steps: z.array(z.string().min(1).max(63)).min(1).optional(),
    /** For source_failure_rate: which sources it watches; default every source. */
    sources: z.array(z.string().min(1).max(200)).min(1).optional(),
    /** For service_dead_letters: which services it watches (collector, transformer, worker, operators); default every one. */
    services: z.array(z.string().min(1).max(100)).min(1).optional(),
    /**
     * The signal's threshold: a success rate floor (success_rate, step_success_rate), a failure rate ceiling (source_failure_rate),
     * a count (consecutive_failures, dead_letters, service_dead_letters), a ratio (duration_baseline, step_duration_baseline: 0.2 = 20%).
     */
    threshold: z.number().positive().optional(),
    /** For success_rate, step_success_rate, source_failure_rate: the window it is measured over. */
    window: duration('window').optional(),
    /** For duration_baseline / step_duration_baseline: earlier successful runs needed before there is a baseline; for rates: outcomes in the window needed to judge. */
    minSamples: z.number().int().positive().max(10_000).optional(),
    severity: z.enum(ALERT_SEVERITIES).default('ticket'),
    for: duration('`for` period').default(0),
    keepFiringFor: duration('keepFiringFor period').default(0),
    labels: labelMap.default({}),
    summary: z.string().min(1).max(1000).optional(),
    runbook: z.string().min(1).max(500).optional(),
    action: action.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.summary !== undefined) {
      const known = new Set([...TEMPLATE_VARIABLES, ...Object.keys(r.labels)]);
      for (const v of templateVariables(r.summary)) {
        if (!known.has(v)) ctx.addIssue({ code: 'custom', path: ['summary'], message: `unknown template variable "${v}" (known: ${[...known].join(', ')})` });
      }
    }
    if (r.signal === 'success_rate' && (r.threshold === undefined || r.threshold > 1)) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'success_rate needs a threshold between 0 and 1, e.g. 0.95' });
    }
    if ((r.signal === 'step_success_rate' || r.signal === 'source_failure_rate') && r.threshold !== undefined && r.threshold > 1) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `${r.signal} needs a threshold between 0 and 1, e.g. ${r.signal === 'step_success_rate' ? '0.9' : '0.5'}` });
    }
    if (r.steps !== undefined && !STEP_SIGNALS.includes(r.signal)) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: `steps only applies to ${STEP_SIGNALS.join(', ')}, not ${r.signal}` });
    }
    if (r.sources !== undefined && r.signal !== 'source_failure_rate') {
      ctx.addIssue({ code: 'custom', path: ['sources'], message: `sources only applies to source_failure_rate, not ${r.signal}` });
    }
    if (r.services !== undefined && r.signal !== 'service_dead_letters') {
      ctx.addIssue({ code: 'custom', path: ['services'], message: `services only applies to service_dead_letters, not ${r.signal}` });
    }
    if (r.action?.type === 'pause_workflow' && (r.signal === 'budget' || r.signal === 'service_dead_letters')) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: `pause_workflow needs a workflow signal, not ${r.signal}` });
    }
  });

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name');
const receiver = z
  .strictObject({
    name,
    webhook: z.strictObject({ url: httpUrl, secretEnv: envName.optional() }).optional(),
    // A Slack webhook URL and a PagerDuty routing key are credentials: name the environment variable
    // that holds them (urlEnv, routingKeyEnv) to keep them out of the rule set and the event log.
    slack: z
      .strictObject({ url: httpUrl.optional(), urlEnv: envName.optional() })
      .refine((x) => (x.url === undefined) !== (x.urlEnv === undefined), 'give exactly one of url, urlEnv')
      .optional(),
    pagerduty: z
      .strictObject({ routingKey: z.string().min(1).max(100).optional(), routingKeyEnv: envName.optional(), url: httpUrl.optional() })
      .refine((x) => (x.routingKey === undefined) !== (x.routingKeyEnv === undefined), 'give exactly one of routingKey, routingKeyEnv')
      .optional(),
    email: z.strictObject({ to: z.array(z.email()).min(1).max(50), from: z.email().optional() }).optional(),
  })
  .superRefine((r, ctx) => {
    const kinds = (['webhook', 'slack', 'pagerduty', 'email'] as const).filter((k) => r[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `a receiver has exactly one of webhook, slack, pagerduty, email (got ${kinds.length === 0 ? 'none' : kinds.join(', ')})` });
  });

const grouping = {
  groupBy: z.array(z.union([labelName, z.literal('...')])).default(['alertname', 'workflow']),
  groupWait: duration('groupWait').default(30_000),
  groupInterval: duration('groupInterval').default(5 * 60_000),
  repeatInterval: duration('repeatInterval').default(4 * 3_600_000),
};

const route = z.strictObject({
  receiver: name,
  ...grouping,
  routes: z.array(z.strictObject({ match: matchers, receiver: name })).max(100).default([]),
});

const inhibition = z.strictObject({
  sourceMatch: matchers,
  targetMatch: matchers,
  equal: z.array(labelName, { error: 'an inhibition must name its `equal` labels' }).min(1, 'an inhibition must name at least one `equal` label'),
});

const escalation = z.strictObject({
  name,
  owner: z.string().min(1).max(100),
  severity: z.enum(ALERT_SEVERITIES),
  steps: z.array(z.strictObject({ after: duration('step delay'), receivers: z.array(name).min(1) })).min(1).max(20),
  /** Times the whole policy runs again while nobody acknowledges; capped so a forgotten alert does not page forever. */
  repeat: z.number().int().nonnegative().max(10).default(0),
});

export const RuleFileSchema = z
  .strictObject({
    receivers: z.array(receiver).max(100).default([]),
    route: route.optional(),
    rules: z.array(rule).max(5_000).default([]),
    inhibitions: z.array(inhibition).max(100).default([]),
    escalations: z.array(escalation).max(200).default([]),
  })
  .superRefine((f, ctx) => {
    const receivers = new Set<string>();
    f.receivers.forEach((r, i) => {
      if (receivers.has(r.name)) ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `duplicate receiver "${r.name}"` });
      receivers.add(r.name);
    });
    const known = (n: string, path: (string | number)[]) => {
      if (!receivers.has(n)) ctx.addIssue({ code: 'custom', path, message: `unknown receiver "${n}"${receivers.size ? ` (known: ${[...receivers].join(', ')})` : ' (declare it under receivers)'}` });
    };
    if (f.route) {
      known(f.route.receiver, ['route', 'receiver']);
      f.route.routes.forEach((r, i) => known(r.receiver, ['route', 'routes', i, 'receiver']));
    }
    const rules = new Set<string>();
    f.rules.forEach((r, i) => {
      if (rules.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule "${r.name}"` });
      rules.add(r.name);
    });
    const policies = new Set<string>();
    f.escalations.forEach((e, i) => {
      const key = `${e.owner}/${e.severity}`;
      if (policies.has(key)) ctx.addIssue({ code: 'custom', path: ['escalations', i], message: `a second escalation for owner ${e.owner} and severity ${e.severity}` });
      policies.add(key);
      e.steps.forEach((s, j) => s.receivers.forEach((r, k) => known(r, ['escalations', i, 'steps', j, 'receivers', k])));
    });
  });

export type RuleFile = z.output<typeof RuleFileSchema>;
export type AlertRule = RuleFile['rules'][number];
export type Receiver = RuleFile['receivers'][number];
export type RouteSpec = NonNullable<RuleFile['route']>;
export type EscalationPolicy = RuleFile['escalations'][number];
export type InhibitionSpec = RuleFile['inhibitions'][number];
