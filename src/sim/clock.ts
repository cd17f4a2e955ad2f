/**
 * Virtual time. The simulator owns one global `now` (ms); replica i reads now + skew[i], so
 * replicas disagree about wall-clock time (proposer timestamps, skew checks) while timers,
 * which measure durations, run at the same rate everywhere.
 */
export class VirtualClock {
  private current = 0
  readonly skews: number[]

  constructor (skews: number[]) {
    this.skews = skews
  }

  get now (): number {
    return this.current
  }

  /** Moves time forward; time never goes back. */
  advanceTo (t: number): void {
    if (t < this.current) throw new RangeError(`virtual time cannot go back from ${this.current} to ${t}`)
    this.current = t
  }

  /** What replica i's local clock says. The epoch offset keeps timestamps positive whatever the skew. */
  localNow (replica: number): number {
    return EPOCH_MS + this.current + (this.skews[replica] ?? 0)
  }
}

/** 2026-01-01T00:00:00Z: virtual time 0 maps here on an unskewed clock. */
export const EPOCH_MS = 1_767_225_600_000
