import { hostname } from 'node:os';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';

/** What one running instance says about itself, under `<service>.<instance>`. */
export interface PresenceEntry {
  service: string;
  instance: string;
  startedAt: string;
  /** When this instance last reported (its own clock). */
  lastSeen: string;
  capabilities: string[];
  version?: string;
  /** Its reporting interval, so a reader can tell a late entry from a dead one. */
  intervalMs: number;
}

export interface PresenceReporterOptions {
  /** A subject token: letters, digits, `_` and `-`. */
  service: string;
  /** Default `<hostname>-<pid>` (the pod name in Kubernetes). */
  instance?: string;
  capabilities?: string[];
  version?: string;
  /** Default 5000 ms; the bucket keeps an entry for 3x this after its last report. */
  intervalMs?: number;
  /** A failed report (NATS briefly away); the next tick tries again. */
  onError?: (err: unknown) => void;
}

export interface PresenceDirectoryOptions {
  /** An entry older than this is dead even if the bucket still holds it; default 3x the entry's own interval. */
  staleAfterMs?: number;
}

const DEFAULT_INTERVAL_MS = 5_000;
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** `<NS_>steward_presence`: per namespace, so test files and environments do not see each other. */
export function presenceBucket(subjects: Subjects): string {
  return `${subjects.streamPrefix}steward_presence`;
}

function keyToken(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new Error(`${what} "${value}" must be letters, digits, _ or -`);
  return value;
}

/**
 * Announces a running service instance in a JetStream KV bucket, so the CLI
 * and the gateway can say "the executor is not running" instead of waiting
 * for a command nobody takes. NATS 2.9 has no per-key TTL, so the bucket's
 * max_age (3x the interval) is the lease: an instance that dies without
 * stop() drops out when its last report ages out.
 */
export class PresenceReporter {
  private readonly intervalMs: number;
  private readonly entry: Omit<PresenceEntry, 'lastSeen'>;
  private kv: KV | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly options: PresenceReporterOptions,
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    const instance = options.instance ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '-');
    this.entry = {
      service: keyToken(options.service, 'service'),
      instance: keyToken(instance, 'instance'),
      startedAt: new Date().toISOString(),
      capabilities: options.capabilities ?? [],
      ...(options.version !== undefined && { version: options.version }),
      intervalMs: this.intervalMs,
    };
  }

  get key(): string {
    return `${this.entry.service}.${this.entry.instance}`;
  }

  /** Resolves after the first report is stored: from then on the instance is visible. */
  async start(): Promise<void> {
    if (this.kv) return;
    const kv = await new Kvm(this.nc).create(presenceBucket(this.subjects), { history: 1, ttl: 3 * this.intervalMs });
    // The first reporter created the bucket; if its lease is shorter than ours, report
    // often enough for it, or this instance would flicker out between reports.
    const ttl = (await kv.status()).ttl;
    const every = ttl > 0 ? Math.max(50, Math.min(this.intervalMs, Math.floor(ttl / 3))) : this.intervalMs;
    this.entry.intervalMs = every;
    this.kv = kv;
    await this.report();
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /**
   * Removes this instance at once rather than after the lease. Bounded: with
   * NATS away the delete would wait for its request timeout, and shutdown
   * should not; the lease removes the entry anyway.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const kv = this.kv;
    this.kv = undefined;
    if (!kv || this.nc.isClosed()) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(2_000, this.entry.intervalMs))));
    const leave = (async () => {
      await this.inFlight;
      // rtt() fails at once while disconnected, where the delete would sit out its timeout.
      await this.nc.rtt();
      await kv.delete(this.key);
    })().catch((err: unknown) => this.options.onError?.(err));
    await Promise.race([leave, bound]);
    clearTimeout(timer);
  }

  private tick(): void {
    // A report still waiting on a slow server: skip this beat rather than queue them up.
    if (this.inFlight) return;
    this.inFlight = this.report()
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => (this.inFlight = undefined));
  }

  private async report(): Promise<void> {
    const entry: PresenceEntry = { ...this.entry, lastSeen: new Date().toISOString() };
    await this.kv?.put(this.key, JSON.stringify(entry));
  }
}

/** Reads the presence bucket: who runs, where, since when, with which capabilities. */
export class PresenceDirectory {
  private kv: Promise<KV> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly options: PresenceDirectoryOptions = {},
  ) {}

  /** Live instances, all services; empty when nothing ever reported. */
  list(): Promise<PresenceEntry[]> {
    return this.read('>');
  }

  /** At least one instance of `service` reported within its lease. */
  async isRunning(service: string): Promise<boolean> {
    return (await this.read(`${keyToken(service, 'service')}.*`)).length > 0;
  }

  private async read(filter: string): Promise<PresenceEntry[]> {
    this.kv ??= new Kvm(this.nc).open(presenceBucket(this.subjects));
    const kv = await this.kv;
    let keys: string[];
    try {
      keys = await this.keysOf(filter);
    } catch (err) {
      if (isMissingBucket(err)) return [];
      throw err;
    }
    const entries = await Promise.all(keys.map((k) => kv.get(k).catch(() => null)));
    const now = Date.now();
    return entries.flatMap((e) => {
      const entry = e && e.operation === 'PUT' ? parse(e) : undefined;
      return entry && this.isFresh(entry, e!, now) ? [entry] : [];
    });
  }

  /**
   * The keys under `filter`, from the bucket stream's subjects (one API
   * request, no consumer). Not `kv.keys()`: it counts the entries pending
   * for a consumer, then waits until it has seen the last of them, and an
   * entry whose lease ran out in between (exactly when an instance dies)
   * is never delivered: a read hung for 30 s in CI.
   */
  private async keysOf(filter: string): Promise<string[]> {
    const bucket = presenceBucket(this.subjects);
    const prefix = `$KV.${bucket}.`;
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
  }

  /**
   * The server's timestamp of the last report, not the reporter's clock; the
   * bucket's max_age removes dead entries anyway, this only covers the gap
   * until the server's expiry pass runs.
   */
  private isFresh(entry: PresenceEntry, raw: KvEntry, now: number): boolean {
    const staleAfter = this.options.staleAfterMs ?? 3 * entry.intervalMs;
    return now - raw.created.getTime() <= staleAfter;
  }
}

function parse(e: KvEntry): PresenceEntry | undefined {
  try {
    const v = e.json<PresenceEntry>();
    return typeof v?.service === 'string' && typeof v.instance === 'string' ? { ...v, capabilities: v.capabilities ?? [] } : undefined;
  } catch {
    return undefined;
  }
}

function isMissingBucket(err: unknown): boolean {
  return err instanceof Error && /stream not found/i.test(err.message);
}
