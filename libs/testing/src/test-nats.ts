import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Subjects } from '@steward/contracts';
import { infrastructure } from './infrastructure';

export interface TestNats {
  url: string;
  /** Subject and stream namespace that isolates this test file. */
  namespace: string;
  subjects: Subjects;
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** Deletes every stream of the namespace and closes the connection. */
  cleanup(): Promise<void>;
}

export async function createTestNats(): Promise<TestNats> {
  const { natsUrl } = await infrastructure();
  const namespace = `t${randomBytes(4).toString('hex')}`;
  const nc = await connect({ servers: natsUrl, name: `steward-test-${namespace}` });
  const jsm = await jetstreamManager(nc);
  const subjects = new Subjects(namespace);
  return {
    url: natsUrl,
    namespace,
    subjects,
    nc,
    jsm,
    cleanup: async () => {
      try {
        for await (const s of jsm.streams.list()) {
          const name = s.config.name;
          if (name.startsWith(subjects.streamPrefix) || name.startsWith(`KV_${subjects.streamPrefix}`)) {
            await jsm.streams.delete(name);
          }
        }
      } finally {
        await nc.drain();
      }
    },
  };
}
