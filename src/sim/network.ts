import type { Prng } from './prng.js'

export interface NetworkFaults {
  minDelayMs: number
  maxDelayMs: number
  /** Probability a message is lost. */
  dropRate: number
  /** Probability a message is delivered twice (the copy takes its own delay). */
  duplicateRate: number
  /** Probability a message takes a long detour (up to tailDelayMs), which reorders it. */
  tailRate: number
  tailDelayMs: number
}

/** Replicas in different groups cannot talk between `at` and `healAt`; oneWay blocks only group 0 -> others. */
export interface Partition {
  at: number
  healAt: number
  groups: number[][]
  oneWay: boolean
}

export interface NetworkStats {
  sent: number
  delivered: number
  dropped: number
  duplicated: number
  cut: number
}

/**
 * The simulated message bus. `send` decides the fate of one message (lost, delayed,
 * duplicated) and returns when each copy should arrive; `canDeliver` re-checks partitions at
 * arrival. From `calmAt` on (the last fault healed) nothing is lost and delays are bounded, so
 * the liveness bound is meaningful.
 */
export class SimNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, cut: 0 }
  private readonly group: number[][]

  constructor (
    private readonly n: number,
    private readonly prng: Prng,
    private readonly faults: NetworkFaults,
    private readonly partitions: Partition[],
    private readonly calmAt: number
  ) {
    // group[p][replica] = index of the replica's side in partition p
    this.group = partitions.map(p => {
      const g = new Array<number>(n).fill(-1)
      p.groups.forEach((members, gi) => { for (const m of members) g[m] = gi })
      return g
    })
  }

  /** Arrival times (absolute virtual ms) of each copy of a message sent now; empty when lost. */
  send (from: number, to: number, now: number): number[] {
    this.stats.sent++
    if (this.blocked(from, to, now)) { this.stats.cut++; return [] }
    const calm = now >= this.calmAt
    if (!calm && this.prng.chance(this.faults.dropRate)) { this.stats.dropped++; return [] }
    const times = [now + this.delay(calm)]
    if (this.prng.chance(this.faults.duplicateRate)) {
      this.stats.duplicated++
      times.push(now + this.delay(calm))
    }
    return times
  }

  canDeliver (from: number, to: number, now: number): boolean {
    if (this.blocked(from, to, now)) { this.stats.cut++; return false }
    this.stats.delivered++
    return true
  }

  blocked (from: number, to: number, now: number): boolean {
    if (from === to) return false
    for (let i = 0; i < this.partitions.length; i++) {
      const p = this.partitions[i]!
      if (now < p.at || now >= p.healAt) continue
      const g = this.group[i]!
      const a = g[from]!
      const b = g[to]!
      if (a === b) continue
      if (!p.oneWay || a === 0) return true
    }
    return false
  }

  private delay (calm: boolean): number {
    const f = this.faults
    if (!calm && this.prng.chance(f.tailRate)) return this.prng.int(f.maxDelayMs, Math.max(f.maxDelayMs, f.tailDelayMs))
    return this.prng.int(f.minDelayMs, f.maxDelayMs)
  }

  get size (): number {
    return this.n
  }
}
