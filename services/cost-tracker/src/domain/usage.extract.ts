import { decimalOfNumber, divideByPowerOfTwo, multiply, shift, usdToMicros, type Decimal } from './money';

/** Resource names usage is priced by; prices match them with globs. */
export const RESOURCES = {
  cpu: 'cpu-seconds',
  memory: 'memory-gb-seconds',
  wall: 'wall-seconds',
  requests: 'collection-requests',
  bytesIn: 'collection-bytes-in',
  rows: 'transform-rows',
  events: 'events-stored',
} as const;

/**
 * Line numbers are part of a record's identity (source event id + line), so
 * they are fixed per kind of usage and never reused: a redelivered event
 * yields the same keys and is counted once.
 */
const LINE = { cpu: 0, memory: 1, wall: 2, requests: 10, bytesIn: 11, rows: 20, reported: 100, events: 900 } as const;

/** What the cost tracker reads off one event, before attribution and pricing. */
export interface UsageLine {
  line: number;
  resource: string;
  unit: string;
  quantity: Decimal;
  at: Date;
  durationMs?: number;
  /** A cost the reporter supplied (costUsd): it overrides any price. */
  reportedMicros?: bigint;
  /** Only recorded when a price is in force (event volume: a record per stored event is only worth it when priced). */
  onlyIfPriced?: boolean;
  /** Work done by this service, when the event says so (otherwise the step's target or the event's source). */
  service?: string;
}

/** The parts of an event envelope usage extraction reads. */
export interface UsageEvent {
  id: string;
  type: string;
  source: string;
  time: string;
  data: any;
}

interface ReportedUsage {
  provider: string;
  endpoint?: string;
  model?: string;
  units: number;
  unit: string;
  costUsd?: number;
}

/** Resource name of handler-reported usage: `api:<provider>:<model or endpoint>:<unit>`, e.g. `api:openai:gpt-4o:tokens`. */
export function reportedResource(u: ReportedUsage): string {
  return `api:${u.provider}:${u.model ?? u.endpoint ?? 'default'}:${u.unit}`;
}

function finiteNonNegative(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function attemptUsage(data: any, at: Date): UsageLine[] {
  const lines: UsageLine[] = [];
  const usage = (data.usage ?? {}) as Record<string, unknown>;
  const wallMs = finiteNonNegative(usage.wallMs) ? usage.wallMs : undefined;
  const duration = wallMs === undefined ? {} : { durationMs: Math.round(wallMs) };
  if (finiteNonNegative(usage.cpuMs)) {
    lines.push({ line: LINE.cpu, resource: RESOURCES.cpu, unit: 'seconds', quantity: shift(decimalOfNumber(usage.cpuMs), 3), at, ...duration });
  }
  if (finiteNonNegative(usage.maxRssKb) && wallMs !== undefined) {
    // Peak memory held for the whole attempt: KiB x ms -> GiB-seconds (2^20 KiB a GiB, 10^3 ms a second), exact.
    const kbMs = multiply(decimalOfNumber(usage.maxRssKb), decimalOfNumber(wallMs));
    lines.push({ line: LINE.memory, resource: RESOURCES.memory, unit: 'gb-seconds', quantity: shift(divideByPowerOfTwo(kbMs, 20), 3), at, ...duration });
  }
  if (wallMs !== undefined) {
    lines.push({ line: LINE.wall, resource: RESOURCES.wall, unit: 'seconds', quantity: shift(decimalOfNumber(wallMs), 3), at, ...duration });
  }
  const reported = Array.isArray(data.reportedUsage) ? (data.reportedUsage as ReportedUsage[]) : [];
  reported.forEach((u, i) => {
    lines.push({
      line: LINE.reported + i,
      resource: reportedResource(u),
      unit: u.unit,
      quantity: decimalOfNumber(u.units),
      at,
      ...(u.costUsd !== undefined && { reportedMicros: usdToMicros(u.costUsd) }),
    });
  });
  return lines;
}

/**
 * The usage an event stands for: a task attempt's cpu, memory x time and wall
 * time plus what its handler reported; a capture's request and bytes in; a
 * transformation's rows; and, for every event, one stored event.
 */
export function usageOf(event: UsageEvent): UsageLine[] {
  const d = event.data ?? {};
  const eventTime = new Date(event.time);
  const lines: UsageLine[] = [];
  switch (event.type) {
    case 'step.succeeded':
      lines.push(...attemptUsage(d, new Date(d.succeededAt ?? event.time)));
      break;
    case 'step.failed':
      lines.push(...attemptUsage(d, new Date(d.failedAt ?? event.time)));
      break;
    case 'collection.raw_captured': {
      const at = new Date(d.capturedAt ?? event.time);
      const duration = finiteNonNegative(d.durationMs) ? { durationMs: d.durationMs } : {};
      lines.push({ line: LINE.requests, resource: RESOURCES.requests, unit: 'requests', quantity: { coef: 1n, scale: 0 }, at, service: 'collector', ...duration });
      if (finiteNonNegative(d.size)) lines.push({ line: LINE.bytesIn, resource: RESOURCES.bytesIn, unit: 'bytes', quantity: decimalOfNumber(d.size), at, service: 'collector', ...duration });
      break;
    }
    case 'transformation.completed': {
      const rows = d.counts?.rows;
      if (finiteNonNegative(rows)) {
        const duration = finiteNonNegative(d.durationMs) ? { durationMs: d.durationMs } : {};
        lines.push({ line: LINE.rows, resource: RESOURCES.rows, unit: 'rows', quantity: decimalOfNumber(rows), at: new Date(d.completedAt ?? event.time), service: 'transformer', ...duration });
      }
      break;
    }
    default:
      break;
  }
  lines.push({ line: LINE.events, resource: RESOURCES.events, unit: 'events', quantity: { coef: 1n, scale: 0 }, at: eventTime, onlyIfPriced: true, service: event.source });
  return lines;
}
