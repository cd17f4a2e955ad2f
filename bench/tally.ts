import type { SeenBlock } from './block-watch.js'

/** Longest run the per-second timeline covers (window + drain). */
const MAX_TIMELINE_S = 4000

/**
 * What the load generator learns from the block stream about the txs it sent: which committed,
 * when, and which came back more than once. Pure bookkeeping (no I/O), so its rules are tested
 * on their own: a tx is committed by the first block that applies it; an inclusion refused for
 * a nonce gap is not a commit (the tx is still pending); an inclusion refused for good is a
 * final answer but not a commit; a second inclusion of an applied tx is a `duplicate` if that
 * block applied it again (must never happen) and a `reincluded` if it refused it.
 */
export class CommitTally {
  /** Sent and neither committed nor rejected yet, with the time each was sent. */
  readonly pending = new Map<string, number>()
  private readonly committed = new Set<string>()
  readonly latencies: number[] = []
  /** Latencies by the second their commit arrived in: shows whether the tail is spread or in bursts. */
  readonly perSecond: number[][] = []
  readonly rejected: Record<string, number> = {}
  rejectedCount = 0
  committedInWindow = 0
  committedTotal = 0
  duplicates = 0
  reincluded = 0
  retried = 0
  blocksInWindow = 0
  txsInWindow = 0

  constructor (private readonly t0: number, private readonly tEnd: number) {}

  sent (id: string, at: number): void {
    this.pending.set(id, at)
  }

  /** A final answer other than a commit (refused at submission, or the request failed). */
  reject (id: string, code: string): void {
    if (this.pending.delete(id)) { this.rejected[code] = (this.rejected[code] ?? 0) + 1; this.rejectedCount++ }
  }

  onBlock (b: SeenBlock): void {
    const inWindow = b.at >= this.t0 && b.at <= this.tEnd
    if (inWindow) { this.blocksInWindow++; this.txsInWindow += b.txIds.length - b.retryable.length }
    const retry = b.retryable.length === 0 ? undefined : new Set(b.retryable)
    if (retry !== undefined) this.retried += retry.size
    const refused = b.refused.length === 0 ? undefined : new Set(b.refused)
    for (const id of b.txIds) {
      if (retry?.has(id) === true) continue
      const at = this.pending.get(id)
      if (at === undefined) {
        if (this.committed.has(id)) { if (refused?.has(id) === true) this.reincluded++; else this.duplicates++ }
        continue
      }
      if (refused?.has(id) === true) { this.reject(id, 'ERR_REFUSED_IN_BLOCK'); continue }
      this.pending.delete(id)
      this.committed.add(id)
      this.latencies.push(b.at - at)
      const sec = Math.floor((b.at - this.t0) / 1000)
      if (sec >= 0 && sec < MAX_TIMELINE_S) (this.perSecond[sec] ??= []).push(b.at - at)
      this.committedTotal++
      if (inWindow) this.committedInWindow++
    }
  }
}
