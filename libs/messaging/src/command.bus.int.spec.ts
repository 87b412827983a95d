import 'reflect-metadata';
import { jetstream } from '@nats-io/jetstream';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { CommandRejected, Headers, uuidv7 } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { lastValueFrom } from 'rxjs';
import { CommandBus, type CommandOutcome } from './command.bus';
import type { CommandEnvelope } from './command.envelope';
import { encodeJson } from './envelope.codec';
import { publishEvent } from './event.publisher';
import { parseDeadLetter } from './dead-letter.publisher';
import { JetStreamClient } from './jetstream.client';
import type { JetStreamContext } from './jetstream.context';
import { envelope, memoryLogger, readStream, registryOf, startMicroservice } from './test.fixtures';

const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const received: Array<{ command: CommandEnvelope; traceparent?: string }> = [];
let publishOutcome: (command: CommandEnvelope) => Promise<void> = async () => {};

/** Stands in for a service: validates the command and records its outcome (here: publishes it, as the relay would). */
@Controller()
class ApprovalsController {
  @EventPattern<string>('cmd:approve')
  async approve(@Payload() command: CommandEnvelope, @Ctx() ctx: JetStreamContext): Promise<void> {
    received.push({ command, ...(ctx.getTraceparent() && { traceparent: ctx.getTraceparent() }) });
    await publishOutcome(command);
  }
}

@Module({ controllers: [ApprovalsController] })
class ApprovalsModule {}

describe('command channel', () => {
  const env = useTestEnvironment({ label: 'msgcmd' });

  describe('with a service consuming its commands', () => {
    let app: INestMicroservice;
    let bus: CommandBus;

    beforeAll(async () => {
      const { subjects } = env.nats;
      ({ app } = await startMicroservice(ApprovalsModule, {
        natsUrl: env.nats.url,
        subjects,
        service: 'approvals',
        registry: registryOf('approval.granted'),
        logger: memoryLogger(),
        consumers: [{ stream: 'COMMANDS', filter: subjects.commands('approvals') }],
      }));
      bus = new CommandBus(env.nats.nc, subjects, { logger: memoryLogger() });
      const js = jetstream(env.nats.nc);
      publishOutcome = async (command) => {
        const payload = command.payload as { ok?: boolean; silent?: boolean };
        if (payload.silent) return;
        const caused = { causationid: command.commandId, correlationid: command.correlationId };
        const outcome = payload.ok
          ? envelope('approval.granted', { n: 1 }, caused)
          : envelope(
              CommandRejected.type,
              { commandId: command.commandId, service: command.service, command: command.name, code: 'validation', reason: 'step is not waiting for approval', issues: [{ path: 'payload.step', message: 'not waiting' }] },
              { ...caused, dataschemaversion: 1 },
            );
        await publishEvent(js, subjects, outcome);
      };
    });
    afterAll(async () => {
      await bus?.close();
      await app?.close();
    });
    beforeEach(() => {
      received.length = 0;
    });

    it('resolves completed with the outcome event caused by the command', async () => {
      const outcome = await bus.send('approvals', 'approve', { ok: true }, { actor: 'alice', correlationId: 'corr-1', traceparent: TRACE, timeoutMs: 5_000 });
      expect(outcome.status).toBe('completed');
      const { events, commandId } = outcome as Extract<CommandOutcome, { status: 'completed' }>;
      expect(events[0]).toMatchObject({ type: 'approval.granted', causationid: commandId, correlationid: 'corr-1' });
      expect(received).toHaveLength(1);
      expect(received[0]!.command).toMatchObject({ commandId, service: 'approvals', name: 'approve', actor: 'alice', payload: { ok: true } });
      expect(received[0]!.traceparent).toBe(TRACE);
    });

    it('resolves rejected with the reason, code and issues of a command.rejected outcome', async () => {
      const outcome = await bus.send('approvals', 'approve', { ok: false }, { timeoutMs: 5_000 });
      expect(outcome).toMatchObject({
        status: 'rejected',
        reason: 'step is not waiting for approval',
        code: 'validation',
        issues: [{ path: 'payload.step', message: 'not waiting' }],
      });
    });

    it('answers pending after the timeout when no outcome arrives', async () => {
      const t0 = Date.now();
      const outcome = await bus.send('approvals', 'approve', { silent: true }, { timeoutMs: 400 });
      expect(outcome).toMatchObject({ status: 'pending', duplicate: false });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
      expect(received).toHaveLength(1); // it was delivered; the service just recorded nothing
    });

    it('lets the stream drop a resend of the same command id', async () => {
      const commandId = uuidv7();
      const first = await bus.send('approvals', 'approve', { ok: true }, { commandId, timeoutMs: 5_000 });
      expect(first).toMatchObject({ status: 'completed', duplicate: false });
      const again = await bus.send('approvals', 'approve', { ok: true }, { commandId, timeoutMs: 400 });
      expect(again).toMatchObject({ status: 'pending', duplicate: true, commandId });
      expect(received.map((r) => r.command.commandId)).toEqual([commandId]);
    });

    it('posts a command without waiting for its outcome or subscribing to events; a repost of its id is dropped', async () => {
      const poster = new CommandBus(env.nats.nc, env.nats.subjects, { logger: memoryLogger() });
      const commandId = uuidv7();
      const posted = await poster.post('approvals', 'approve', { silent: true }, { commandId, actor: 'bench', correlationId: 'corr-post' });
      expect(posted).toEqual({ commandId, duplicate: false });
      await eventually(async () => expect(received.map((r) => r.command)).toEqual([expect.objectContaining({ commandId, actor: 'bench', correlationId: 'corr-post', payload: { silent: true } })]));
      expect(await poster.post('approvals', 'approve', { silent: true }, { commandId })).toEqual({ commandId, duplicate: true });
      // Nothing to wait for: post never opened the subscription to every event that send needs.
      expect(poster.listening).toBe(false);
      await new Promise((r) => setTimeout(r, 200));
      expect(received).toHaveLength(1);
    });

    it('listens to every event only while commands are awaited, and again for the next one', async () => {
      const idle = new CommandBus(env.nats.nc, env.nats.subjects, { logger: memoryLogger(), idleUnsubscribeMs: 150 });
      expect(idle.listening).toBe(false);
      const sending = idle.send('approvals', 'approve', { ok: true }, { timeoutMs: 5_000 });
      const first = await sending;
      expect(first.status).toBe('completed');
      expect(idle.listening).toBe(true);
      await eventually(async () => expect(idle.listening).toBe(false), 2_000);
      // The next command subscribes again before it publishes: its outcome is not missed.
      expect((await idle.send('approvals', 'approve', { ok: true }, { timeoutMs: 5_000 })).status).toBe('completed');
      await idle.close();
      expect(idle.listening).toBe(false);
    });

    it('sends commands through JetStreamClient.send', async () => {
      const client = new JetStreamClient({ connection: env.nats.nc, subjects: env.nats.subjects, commandTimeoutMs: 5_000 });
      const outcome = await lastValueFrom(client.send<CommandOutcome>('cmd:approvals.approve', { ok: true }));
      expect(outcome.status).toBe('completed');
      await expect(lastValueFrom(client.send('approve', { ok: true }))).rejects.toThrow(/cmd:<service>.<name>/);
      await client.close();
    });

    it('dead-letters a command body that fails validation', async () => {
      const subject = env.nats.subjects.command('approvals', 'approve');
      const ack = await jetstream(env.nats.nc).publish(subject, encodeJson({ commandId: 'nope', service: 'approvals', name: 'approve' }));
      const letter = await eventually(async () => {
        const m = (await readStream(env.nats.jsm, env.nats.subjects.stream('DLQ'))).find((x) => x.header.get(Headers.DlqStreamSeq) === String(ack.seq));
        if (!m) throw new Error('not dead-lettered yet');
        return parseDeadLetter({ data: m.data, headers: m.header });
      });
      expect(letter).toMatchObject({ reason: 'invalid_envelope', consumer: 'approvals-cmd', subject, stream: env.nats.subjects.stream('COMMANDS') });
      expect(received).toHaveLength(0);
    });
  });
});
