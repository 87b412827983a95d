import { Headers, ValidationError, uuidv7 } from '@steward/contracts';
import { commandHeaders, decodeCommand } from './command.envelope';
import { decodeEnvelope, encodeJson, envelopeHeaders } from './envelope.codec';
import { envelope } from './test.fixtures';

const TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('event envelope on the wire', () => {
  it('carries only the id, causation and trace as headers; the type is the subject, the rest is in the body', () => {
    const e = envelope('run.started', { n: 1 }, { globalposition: '42', transactionid: '7', causationid: 'cmd-1', traceparent: TRACE, streamversion: 3 });
    const h = envelopeHeaders(e);
    expect(Object.fromEntries(h.keys().map((k) => [k, h.get(k)]))).toEqual({
      [Headers.MsgId]: e.id,
      [Headers.CausationId]: 'cmd-1',
      [Headers.Traceparent]: TRACE,
    });
    expect(decodeEnvelope({ data: encodeJson(e) })).toMatchObject({ globalposition: '42', transactionid: '7', streamversion: 3 });
  });

  it('omits optional headers the envelope does not have', () => {
    const h = envelopeHeaders(envelope('run.started', {}));
    expect(h.has(Headers.CausationId)).toBe(false);
    expect(h.has(Headers.Traceparent)).toBe(false);
  });

  it('round-trips a valid envelope', () => {
    const e = envelope('run.started', { n: 1 });
    expect(decodeEnvelope({ data: encodeJson(e) })).toEqual(e);
  });

  it('names the field at fault when the envelope is invalid', () => {
    const bad = { ...envelope('run.started', {}), streamversion: -1 };
    expect(() => decodeEnvelope({ data: encodeJson(bad) })).toThrow(/streamversion/);
    try {
      decodeEnvelope({ data: encodeJson(bad) });
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['streamversion']);
    }
  });

  it('rejects a body that is not JSON with a ValidationError', () => {
    expect(() => decodeEnvelope({ data: new TextEncoder().encode('{nope') })).toThrow(ValidationError);
  });
});

describe('command envelope', () => {
  const command = {
    commandId: uuidv7(),
    service: 'ledger',
    name: 'requeue',
    payload: { id: 'x' },
    actor: 'alice',
    correlationId: 'corr-1',
    issuedAt: new Date().toISOString(),
    traceparent: TRACE,
  };

  it('decodes a valid command and sets Nats-Msg-Id to the command id', () => {
    expect(decodeCommand({ data: encodeJson(command) })).toEqual(command);
    const h = commandHeaders(command);
    expect(h.get(Headers.MsgId)).toBe(command.commandId);
    expect(h.get(Headers.Type)).toBe('cmd:requeue');
    expect(h.get(Headers.Actor)).toBe('alice');
    expect(h.get(Headers.Traceparent)).toBe(TRACE);
  });

  it('names the missing and malformed fields', () => {
    const { correlationId: _, ...rest } = command;
    expect(() => decodeCommand({ data: encodeJson({ ...rest, commandId: 'not-a-uuid' }) })).toThrow(/commandId.*correlationId|correlationId.*commandId/);
  });
});
