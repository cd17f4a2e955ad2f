export interface RateLimit {
  framesPerSecond: number
  burst: number
}

/** Token bucket: `burst` frames at once, refilled at `framesPerSecond`. */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor (private readonly limit: RateLimit, private readonly now: () => number) {
    this.tokens = limit.burst
    this.last = now()
  }

  /** Takes `n` tokens; false (and takes none) when the peer is over its rate. */
  take (n: number): boolean {
    const t = this.now()
    this.tokens = Math.min(this.limit.burst, this.tokens + (t - this.last) * this.limit.framesPerSecond / 1000)
    this.last = t
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}
