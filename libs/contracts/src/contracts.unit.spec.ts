import {
  EventEnvelopeSchema,
  Subjects,
  causedBy,
  exitCodeOf,
  httpStatusOf,
  isUuidV7,
  parseConfig,
  BaseConfigSchema,
  toEnvelope,
  uuidv7,
  uuidv7Time,
  ValidationError,
} from './index';

describe('uuidv7', () => {
  it('mints valid, time-ordered ids even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    expect(ids.every(isUuidV7)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Math.abs(uuidv7Time(uuidv7()) - Date.now())).toBeLessThan(5_000);
  });
});

describe('subjects', () => {
  it('maps event types to one-filter subjects, optionally routed and namespaced', () => {
    const s = new Subjects();
    expect(s.event('run.started')).toBe('steward.events.run.started');
    expect(s.event('task.queued', 'q-1')).toBe('steward.events.task.queued.q-1');
    expect(s.command('executor', 'cancel_run')).toBe('steward.cmd.executor.cancel_run');
    expect(s.stream('EVENTS')).toBe('STEWARD_EVENTS');
    expect(s.events('run.started')).toBe('steward.events.run.started');
    expect(s.events('task.queued', { routed: true })).toBe('steward.events.task.queued.>');
    const t = new Subjects('tabc');
    expect(t.events()).toBe('tabc.steward.events.>');
    expect(t.stream('DLQ')).toBe('TABC_STEWARD_DLQ');
    expect(t.typeOf('tabc.steward.events.task.queued.q-1')).toBe('task.queued');
    expect(() => s.event('Bad Type')).toThrow();
    expect(() => s.event('run.started', 'a.b')).toThrow(/subject token/);
  });
});

describe('envelope', () => {
  it('turns a stored event into a valid CloudEvents envelope and propagates causation', () => {
    const id = uuidv7();
    const env = toEnvelope({
      globalPosition: 7n,
      transactionId: 99n,
      streamId: 'run-1',
      streamVersion: 1,
      eventId: id,
      type: 'run.started',
      schemaVersion: 1,
      data: { a: 1 },
      metadata: { source: 'executor', correlationId: 'c1', traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01', runId: 'r1' },
      occurredAt: new Date('2026-01-01T00:00:00Z'),
    });
    expect(EventEnvelopeSchema.parse(env)).toEqual(env);
    expect(env).toMatchObject({ specversion: '1.0', id, source: 'executor', correlationid: 'c1', globalposition: '7', runid: 'r1' });
    expect(causedBy(env)).toEqual({ correlationId: 'c1', causationId: id, traceparent: env.traceparent, runId: 'r1' });
  });

  it('rejects a malformed envelope naming the field', () => {
    const r = EventEnvelopeSchema.safeParse({ specversion: '1.0', id: 'nope' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path[0])).toEqual(expect.arrayContaining(['id', 'source', 'type', 'time']));
  });
});

describe('errors and config', () => {
  it('maps codes to the operator contract', () => {
    expect([exitCodeOf('validation'), exitCodeOf('unauthorised'), exitCodeOf('not_found'), exitCodeOf('illegal_state')]).toEqual([2, 3, 4, 1]);
    expect([httpStatusOf('validation'), httpStatusOf('forbidden'), httpStatusOf('not_found')]).toEqual([400, 403, 404]);
  });

  it('fails fast naming every bad variable', () => {
    try {
      parseConfig(BaseConfigSchema, { DATABASE_URL: 'not a url', LOG_LEVEL: 'loud' });
      throw new Error('expected failure');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues.map((i) => i.path).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL']);
    }
  });
});
