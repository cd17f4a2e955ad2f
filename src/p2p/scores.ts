export interface ScoreOptions {
  /** Score every peer starts with and recovers to. */
  initial: number
  /** At or below this the peer is disconnected and banned. */
  banThreshold: number
  banMs: number
  /** Points regained per second, so an old, isolated fault is forgiven. */
  recoveryPerSecond: number
}

export const DEFAULT_SCORES: ScoreOptions = { initial: 100, banThreshold: 0, banMs: 60_000, recoveryPerSecond: 1 }

interface Entry { score: number, at: number, bannedUntil: number }

/** Per-peer misbehaviour score and temporary bans. Pure bookkeeping: no I/O. */
export class PeerScores {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly opts: ScoreOptions, private readonly now: () => number) {}

  score (peerId: string): number {
    return this.entry(peerId).score
  }

  /** Subtracts points; returns true when this pushed the peer into a ban. */
  penalize (peerId: string, points: number): boolean {
    const e = this.entry(peerId)
    e.score -= points
    if (e.score <= this.opts.banThreshold && e.bannedUntil <= this.now()) {
      e.bannedUntil = this.now() + this.opts.banMs
      return true
    }
    return false
  }

  banned (peerId: string): boolean {
    const e = this.entries.get(peerId)
    if (e === undefined || e.bannedUntil <= this.now()) return false
    return true
  }

  /** Milliseconds until the ban ends, 0 when not banned. */
  banRemainingMs (peerId: string): number {
    const e = this.entries.get(peerId)
    return e === undefined ? 0 : Math.max(0, e.bannedUntil - this.now())
  }

  private entry (peerId: string): Entry {
    const t = this.now()
    let e = this.entries.get(peerId)
    if (e === undefined) {
      e = { score: this.opts.initial, at: t, bannedUntil: 0 }
      this.entries.set(peerId, e)
    }
    if (e.score < this.opts.initial && e.bannedUntil <= t) {
      e.score = Math.min(this.opts.initial, e.score + (t - e.at) / 1000 * this.opts.recoveryPerSecond)
    }
    // When a ban ends the peer gets a clean slate; otherwise it would be re-banned by one fault.
    if (e.bannedUntil !== 0 && e.bannedUntil <= t) {
      e.bannedUntil = 0
      e.score = this.opts.initial
    }
    e.at = t
    return e
  }
}
