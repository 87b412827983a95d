/** Where the executor reads "now" and draws retry jitter: injected so tests decide both. */
export interface Clock {
  now(): Date;
}

export type Random = () => number;

export const systemClock: Clock = { now: () => new Date() };
