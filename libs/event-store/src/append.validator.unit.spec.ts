import { UnknownEventTypeError, ValidationError, EventRegistry, isUuidV7 } from '@steward/contracts';
import { prepareEvents, validateExpected, validateStreamId } from './append.validator';

const options = { maxPayloadBytes: 1024 };

describe('append validation', () => {
  it('mints UUIDv7 ids, defaults the schema version and correlates a root event to itself', () => {
    const [e] = prepareEvents('s', [{ type: 'a.b', data: { x: 1 } }], { ...options, source: 'svc' });
    expect(isUuidV7(e!.eventId)).toBe(true);
    expect(e!.schemaVersion).toBe(1);
    expect(e!.metadata).toEqual({ correlationId: e!.eventId, source: 'svc' });
    expect(JSON.parse(e!.dataJson)).toEqual({ x: 1 });
  });

  it('keeps the metadata a caller set', () => {
    const [e] = prepareEvents('s', [{ type: 'a.b', data: {}, metadata: { correlationId: 'c', source: 'mine' } }], {
      ...options,
      source: 'svc',
    });
    expect(e!.metadata).toEqual({ correlationId: 'c', source: 'mine' });
  });

  it.each([
    [{ type: 'Not A Type', data: {} }, 'type'],
    [{ type: 'a.b', data: undefined }, 'data'],
    [{ type: 'a.b', data: { s: 'nul\u0000' } }, 'data'],
    [{ type: 'a.b', data: {}, schemaVersion: 0 }, 'schemaVersion'],
    [{ type: 'a.b', data: {}, metadata: { runId: '' } }, 'metadata.runId'],
  ])('rejects %j at %s', (event, path) => {
    let err: unknown;
    try {
      prepareEvents('s', [event], options);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]!.path).toBe(path);
  });

  it('rejects the same id twice in one batch', () => {
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    expect(() => prepareEvents('s', [{ id, type: 'a.b', data: {} }, { id, type: 'a.b', data: {} }], options)).toThrow(
      /duplicate event id/,
    );
  });

  it('counts data and metadata bytes against the limit', () => {
    const fits = { type: 'a.b', data: { s: 'x'.repeat(900) } };
    expect(() => prepareEvents('s', [fits], options)).not.toThrow();
    expect(() => prepareEvents('s', [{ ...fits, metadata: { actor: 'y'.repeat(150) } }], options)).toThrow(/over the limit/);
  });

  it('uses the registry for types when one is given', () => {
    expect(() => prepareEvents('s', [{ type: 'not.registered', data: {} }], { ...options, registry: new EventRegistry() })).toThrow(
      UnknownEventTypeError,
    );
  });

  it('checks stream ids and expected versions', () => {
    expect(() => validateStreamId('x'.repeat(200))).not.toThrow();
    expect(() => validateStreamId('x'.repeat(201))).toThrow(ValidationError);
    for (const ok of ['no_stream', 'exists', 'any', 0, 7]) expect(() => validateExpected(ok)).not.toThrow();
    for (const bad of ['none', -1, 1.5, Number.NaN, undefined]) expect(() => validateExpected(bad)).toThrow(ValidationError);
  });
});
