/** The source of time for stored timestamps; tests substitute a fixed or simulated one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
