import type { SimApp } from '../app.js'
import { shortHex, type Violation } from './types.js'

/**
 * Liveness: once the last fault has healed (partitions gone, crashed replicas back, at most f
 * Byzantine left), every correct replica executes every submitted request within `boundMs`
 * of virtual time.
 */
export class LivenessChecker {
  constructor (private readonly report: (v: Violation) => void) {}

  /** Requests still missing per correct replica (for early exit and for the report). */
  missing (apps: Map<number, SimApp>, submitted: string[]): Map<number, string[]> {
    const out = new Map<number, string[]>()
    for (const [replica, app] of apps) {
      const miss = submitted.filter(id => !app.hasApplied(id))
      if (miss.length > 0) out.set(replica, miss)
    }
    return out
  }

  check (apps: Map<number, SimApp>, submitted: string[], healAt: number, deadline: number, describe: (replica: number) => string): void {
    for (const [replica, miss] of this.missing(apps, submitted)) {
      const ids = miss.slice(0, 3).map(id => shortHex(id)).join(', ') + (miss.length > 3 ? ` and ${miss.length - 3} more` : '')
      this.report({
        invariant: 'liveness',
        time: deadline,
        replica,
        message: `replica ${replica} has not executed ${miss.length}/${submitted.length} requests (${ids}) by t=${deadline}ms, ` +
          `${deadline - healAt}ms after the last fault healed at t=${healAt}ms; ${describe(replica)}`
      })
    }
  }
}
