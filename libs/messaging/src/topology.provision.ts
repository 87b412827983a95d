import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import type { Logger } from './json.logger';

export type StreamKind = 'EVENTS' | 'COMMANDS' | 'REPLAY' | 'DLQ';

/** Only the fields Steward declares; everything else stays at the server's default. */
export type StreamDeclaration = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

/** The four streams of one namespace, by kind. */
export type Topology = Record<StreamKind, StreamDeclaration>;

export interface TopologyOptions {
  replicas?: number;
  storage?: 'file' | 'memory';
  /** EVENTS is a transport, Postgres keeps the history: 30 days covers a long outage; replay covers the rest. */
  eventsMaxAgeMs?: number;
  /** A command nobody took within this age is stale (the caller got its 202 long ago). */
  commandsMaxAgeMs?: number;
  replayMaxAgeMs?: number;
  /** 0 = keep dead letters until an operator requeues or discards them. */
  dlqMaxAgeMs?: number;
}

const DAY = 24 * 60 * 60 * 1000;
/** Nats-Msg-Id dedupe window: a relay or DLQ retry after a crash arrives well within it. */
export const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

export function declareTopology(subjects: Subjects, options: TopologyOptions = {}): Topology {
  const common = {
    storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: options.replicas ?? 1,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  return {
    EVENTS: {
      name: subjects.stream('EVENTS'),
      subjects: [subjects.events()],
      retention: RetentionPolicy.Limits,
      max_age: nanos(options.eventsMaxAgeMs ?? 30 * DAY),
      ...common,
    },
    COMMANDS: {
      name: subjects.stream('COMMANDS'),
      subjects: [subjects.commands()],
      // One owner per command: a message leaves the stream once its service acks it.
      retention: RetentionPolicy.Workqueue,
      max_age: nanos(options.commandsMaxAgeMs ?? 7 * DAY),
      ...common,
    },
    REPLAY: {
      name: subjects.stream('REPLAY'),
      subjects: [subjects.replays()],
      retention: RetentionPolicy.Limits,
      max_age: nanos(options.replayMaxAgeMs ?? 7 * DAY),
      ...common,
    },
    DLQ: {
      name: subjects.stream('DLQ'),
      subjects: [subjects.dlq()],
      retention: RetentionPolicy.Limits,
      max_age: nanos(options.dlqMaxAgeMs ?? 0),
      ...common,
    },
  };
}

/** A declared field whose live value differs. Reported, never "fixed": changing a live stream is an operator decision. */
export interface Drift {
  stream: string;
  consumer?: string;
  field: string;
  expected: unknown;
  actual: unknown;
}

export interface ProvisionReport {
  created: string[];
  existing: string[];
  drift: Drift[];
}

function normalize(field: string, value: unknown): unknown {
  // The server may list subjects in any order; they are a set.
  if (field === 'subjects' && Array.isArray(value)) return [...value].sort();
  return value;
}

function diff(declared: object, actual: object, where: { stream: string; consumer?: string }): Drift[] {
  const out: Drift[] = [];
  for (const [field, expected] of Object.entries(declared)) {
    if (expected === undefined) continue;
    const live = (actual as Record<string, unknown>)[field];
    if (JSON.stringify(normalize(field, expected)) !== JSON.stringify(normalize(field, live))) {
      out.push({ ...where, field, expected, actual: live ?? null });
    }
  }
  return out;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** Creates missing streams; reports (and leaves alone) existing ones whose declared fields differ. Safe to run on every start. */
export async function provisionStreams(
  jsm: JetStreamManager,
  configs: Topology | StreamDeclaration[],
  logger?: Logger,
): Promise<ProvisionReport> {
  const report: ProvisionReport = { created: [], existing: [], drift: [] };
  for (const config of Array.isArray(configs) ? configs : Object.values(configs)) {
    let info;
    try {
      info = await jsm.streams.info(config.name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    if (!info) {
      try {
        await jsm.streams.add(config);
        report.created.push(config.name);
        logger?.info('stream created', { stream: config.name });
        continue;
      } catch (err) {
        // Another replica created it between our info and add: compare against theirs.
        info = await jsm.streams.info(config.name).catch(() => {
          throw err;
        });
      }
    }
    report.existing.push(config.name);
    const drift = diff(config, info.config, { stream: config.name });
    for (const d of drift) logger?.warn('stream config drift', { ...d });
    report.drift.push(...drift);
  }
  return report;
}

/** A durable pull consumer with ONE filter subject (NATS 2.9 has no multi-filter consumers). */
export type DurableConsumerDeclaration = Pick<ConsumerConfig, 'durable_name' | 'filter_subject'> &
  Partial<Pick<ConsumerConfig, 'ack_wait' | 'max_deliver' | 'backoff' | 'max_ack_pending' | 'deliver_policy' | 'description'>> & {
    durable_name: string;
    filter_subject: string;
  };

export interface ConsumerProvisionReport {
  created: boolean;
  drift: Drift[];
}

export async function provisionConsumer(
  jsm: JetStreamManager,
  stream: string,
  declaration: DurableConsumerDeclaration,
  logger?: Logger,
): Promise<ConsumerProvisionReport> {
  const config: Partial<ConsumerConfig> = {
    deliver_policy: DeliverPolicy.All,
    ...declaration,
    ack_policy: AckPolicy.Explicit,
  };
  const name = declaration.durable_name;
  let info;
  try {
    info = await jsm.consumers.info(stream, name);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  if (!info) {
    try {
      await jsm.consumers.add(stream, config);
      logger?.info('consumer created', { stream, consumer: name });
      return { created: true, drift: [] };
    } catch (err) {
      info = await jsm.consumers.info(stream, name).catch(() => {
        throw err;
      });
    }
  }
  const drift = diff(config, info.config, { stream, consumer: name });
  for (const d of drift) logger?.warn('consumer config drift', { ...d });
  return { created: false, drift };
}

/**
 * Deletes a durable an earlier version of a service bound and the current
 * one no longer does (its backlog would only grow, and page through the
 * consumer-lag alert), but only when its filter is still the one that version
 * gave it: a consumer of that name with another filter is not ours to delete.
 * Idempotent; true when it deleted one.
 */
export async function removeRetiredConsumer(jsm: JetStreamManager, stream: string, durable: string, filter: string, logger?: Logger): Promise<boolean> {
  const info = await jsm.consumers.info(stream, durable).catch((err: unknown) => {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw err;
  });
  if (info === undefined || info.config.filter_subject !== filter) return false;
  await jsm.consumers.delete(stream, durable).catch((err: unknown) => {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  });
  logger?.info('removed a durable an earlier version used', { stream, consumer: durable, pending: info.num_pending });
  return true;
}
