/** Where the alerter reads "now": injected so tests drive pending periods, windows and timers. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
