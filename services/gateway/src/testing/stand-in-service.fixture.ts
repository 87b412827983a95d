import { AckPolicy, jetstream } from '@nats-io/jetstream';
import { toEnvelope, type NewEvent } from '@steward/contracts';
import { EventStore } from '@steward/event-store';
import { decodeCommand, PresenceReporter, publishEvent, type CommandEnvelope } from '@steward/messaging';
import type { TestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';

/** What the stand-in records for one command: its outcome event and the stream it goes to. */
export interface StandInOutcome {
  streamId: string;
  event: NewEvent;
}

/**
 * A stand-in for a service the gateway sends commands to, as the real one
 * behaves: it announces the commands it handles, takes them from its work
 * queue, records the outcome event (causation = command id) and publishes it
 * the way the relay would. Stopped through `env.track` before NATS goes.
 */
export async function startStandInService(
  env: TestEnvironment,
  pool: Pool,
  service: string,
  commands: string[],
  decide: (cmd: CommandEnvelope) => Promise<StandInOutcome> | StandInOutcome,
): Promise<CommandEnvelope[]> {
  const received: CommandEnvelope[] = [];
  const store = new EventStore(pool);
  const js = jetstream(env.nats.nc);
  const stream = env.nats.subjects.stream('COMMANDS');
  const durable = `${service}-cmd`;
  await env.nats.jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: env.nats.subjects.commands(service) });
  const consumer = await js.consumers.get(stream, durable);
  const presence = new PresenceReporter(env.nats.nc, env.nats.subjects, { service, intervalMs: 60_000, capabilities: commands.map((c) => `cmd:${c}`) });
  await presence.start();
  let running = true;
  const loop = (async () => {
    while (running) {
      const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
      for await (const msg of batch) {
        const cmd = decodeCommand(msg);
        received.push(cmd);
        const { streamId, event } = await decide(cmd);
        const metadata = { source: service, causationId: cmd.commandId, correlationId: cmd.correlationId, ...(cmd.actor && { actor: cmd.actor }), ...event.metadata };
        const { events } = await store.append(streamId, [{ ...event, metadata }], { expected: 'no_stream' });
        await publishEvent(js, env.nats.subjects, toEnvelope(events[0]!), undefined, { fromStore: true });
        msg.ack();
      }
    }
  })().catch((err: unknown) => console.error(`stand-in ${service} failed`, err)); // a crash would otherwise only show up as 202s
  env.track({
    end: async () => {
      running = false;
      await loop;
      await presence.stop();
    },
  });
  return received;
}
