/** Where the cost tracker reads "now": injected so tests decide month boundaries and forecasts. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
