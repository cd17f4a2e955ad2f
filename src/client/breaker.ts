export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number
  /** How long an open circuit rejects calls before letting one trial through. */
  resetMs: number
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * Per-node circuit breaker: after `failureThreshold` consecutive failures the node is skipped
 * for `resetMs`; then a single trial call decides whether it is closed again or re-opened.
 * The clock is injected so tests do not sleep.
 */
export class CircuitBreaker {
  private failures = 0
  private openedAt = 0
  private current: BreakerState = 'closed'
  private trialInFlight = false

  constructor (private readonly opts: BreakerOptions, private readonly now: () => number = Date.now) {}

  get state (): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.opts.resetMs) this.current = 'half-open'
    return this.current
  }

  /** Whether a call may go to this node now; in half-open state only one trial at a time. */
  tryAcquire (): boolean {
    const s = this.state
    if (s === 'closed') return true
    if (s === 'open' || this.trialInFlight) return false
    this.trialInFlight = true
    return true
  }

  success (): void {
    this.failures = 0
    this.trialInFlight = false
    this.current = 'closed'
  }

  failure (): void {
    this.trialInFlight = false
    this.failures++
    if (this.current === 'half-open' || this.failures >= this.opts.failureThreshold) {
      this.current = 'open'
      this.openedAt = this.now()
    }
  }
}
