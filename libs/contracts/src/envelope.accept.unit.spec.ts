import { acceptEnvelope, EventEnvelopeSchema, toEnvelope } from './envelope';
import { uuidv7 } from './uuid';

/** A stored event as the relay turns it into an envelope. */
function relayed(): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(
      toEnvelope({
        globalPosition: 42n,
        transactionId: 7n,
        streamId: 'run-1',
        streamVersion: 3,
        eventId: uuidv7(),
        type: 'step.succeeded',
        schemaVersion: 1,
        data: { runId: 'run-1', nested: { a: [1, 2] } },
        metadata: { source: 'executor', correlationId: 'c-1', causationId: uuidv7(), traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', actor: 'ops', workflowId: 'w', runId: 'run-1' },
        occurredAt: new Date('2026-12-03T10:00:00.123Z'),
      }),
    ),
  ) as Record<string, unknown>;
}

const MUTATIONS: Array<[string, (e: Record<string, unknown>) => void]> = [
  ['no specversion', (e) => delete e.specversion],
  ['specversion 1.1', (e) => (e.specversion = '1.1')],
  ['id not a UUIDv7', (e) => (e.id = '6f1c9a3e-0000-4000-8000-000000000000')],
  ['id a number', (e) => (e.id = 7)],
  ['empty source', (e) => (e.source = '')],
  ['type without category', (e) => (e.type = 'succeeded')],
  ['type in CamelCase', (e) => (e.type = 'Step.Succeeded')],
  ['time without zone', (e) => (e.time = '2026-12-03T10:00:00.123')],
  ['time with an offset', (e) => (e.time = '2026-12-03T11:00:00.123+01:00')],
  ['time without millis', (e) => (e.time = '2026-12-03T10:00:00Z')],
  ['30 February', (e) => (e.time = '2026-02-30T10:00:00.000Z')],
  ['month 13', (e) => (e.time = '2026-13-01T10:00:00.000Z')],
  ['hour 24', (e) => (e.time = '2026-12-03T24:00:00.000Z')],
  ['time a number', (e) => (e.time = Date.now())],
  ['other content type', (e) => (e.datacontenttype = 'text/plain')],
  ['schema version 0', (e) => (e.dataschemaversion = 0)],
  ['schema version 1.5', (e) => (e.dataschemaversion = 1.5)],
  ['schema version as text', (e) => (e.dataschemaversion = '1')],
  ['empty stream id', (e) => (e.streamid = '')],
  ['negative stream version', (e) => (e.streamversion = -1)],
  ['stream version beyond safe integers', (e) => (e.streamversion = 2 ** 60)],
  ['position with a sign', (e) => (e.globalposition = '-1')],
  ['position a number', (e) => (e.globalposition = 42)],
  ['transaction id hex', (e) => (e.transactionid = 'ff')],
  ['empty correlation id', (e) => (e.correlationid = '')],
  ['no correlation id', (e) => delete e.correlationid],
  ['null causation id', (e) => (e.causationid = null)],
  ['empty causation id', (e) => (e.causationid = '')],
  ['bad traceparent', (e) => (e.traceparent = '00-xyz')],
  ['actor a number', (e) => (e.actor = 1)],
  ['null run id', (e) => (e.runid = null)],
  ['an unknown key', (e) => (e.extra = 'x')],
  ['no data', (e) => delete e.data],
  ['no optional fields', (e) => ['globalposition', 'transactionid', 'causationid', 'traceparent', 'actor', 'workflowid', 'runid'].forEach((k) => delete e[k])],
  ['zero stream version', (e) => (e.streamversion = 0)],
  ['29 February of a leap year', (e) => (e.time = '2028-02-29T23:59:59.999Z')],
  ['29 February of a common year', (e) => (e.time = '2027-02-29T10:00:00.000Z')],
  ['29 February 1900', (e) => (e.time = '1900-02-29T10:00:00.000Z')],
  ['29 February 2000', (e) => (e.time = '2000-02-29T10:00:00.000Z')],
  ['31 April', (e) => (e.time = '2026-04-31T10:00:00.000Z')],
  ['day 0', (e) => (e.time = '2026-04-00T10:00:00.000Z')],
  ['minute 60', (e) => (e.time = '2026-04-01T10:60:00.000Z')],
  ['second 60', (e) => (e.time = '2026-04-01T10:00:60.000Z')],
  ['31 December 23:59:59.999', (e) => (e.time = '2026-12-31T23:59:59.999Z')],
];

describe('acceptEnvelope: the fast path of envelope validation', () => {
  it('accepts what every Steward writer produces, as the schema does', () => {
    const e = relayed();
    expect(acceptEnvelope(e)).toBe(e);
    expect(EventEnvelopeSchema.parse(e)).toEqual(e);
  });

  it.each(MUTATIONS)('never accepts what the schema rejects, and returns the same value when it accepts: %s', (_name, mutate) => {
    const e = relayed();
    mutate(e);
    const fast = acceptEnvelope(e);
    const schema = EventEnvelopeSchema.safeParse(e);
    if (fast !== undefined) {
      expect(schema.success).toBe(true);
      expect(fast).toEqual(schema.data);
    }
    // Everything the fast path leaves undecided, the schema decides; nothing is accepted here that the schema refuses.
    if (!schema.success) expect(fast).toBeUndefined();
  });

  it('decides the common mutations itself rather than leaving them all to the schema', () => {
    const decidedFast = MUTATIONS.filter(([, mutate]) => {
      const e = relayed();
      mutate(e);
      return acceptEnvelope(e) !== undefined;
    }).map(([name]) => name);
    expect(decidedFast).toEqual(['no optional fields', 'zero stream version', '29 February of a leap year', '29 February 2000', '31 December 23:59:59.999']);
  });

  it('refuses non-objects', () => {
    for (const v of [null, 1, 'x', [], undefined]) expect(acceptEnvelope(v)).toBeUndefined();
  });
});
