import { bytesEqual, toHex } from '../codec/index.js'
import type { StableProof } from './messages.js'
import type { CheckpointSignature, ReplicaId } from './types.js'

interface CheckpointVote {
  blockHash: Uint8Array
  stateRoot: Uint8Array
  signature: Uint8Array
}

export type AddResult = 'ok' | 'duplicate' | 'equivocation'

/**
 * Signed CHECKPOINT votes per seq, and per replica the highest seq it has claimed. Votes are
 * kept only for seqs in (low, low + horizon]; beyond that only the per-replica maximum is
 * kept, which is enough to notice that this replica fell behind, and bounds memory against
 * a peer that floods far-future checkpoints.
 */
export class CheckpointTracker {
  private readonly votes = new Map<number, Map<ReplicaId, CheckpointVote>>()
  private readonly certified = new Map<number, StableProof>()
  private readonly highest: number[]

  constructor (n: number, private readonly quorum: number) {
    this.highest = new Array<number>(n).fill(0)
  }

  add (from: ReplicaId, seq: number, vote: CheckpointVote, storeVote: boolean): AddResult {
    if (seq > (this.highest[from] ?? 0)) this.highest[from] = seq
    if (!storeVote) return 'ok'
    let m = this.votes.get(seq)
    if (m === undefined) { m = new Map(); this.votes.set(seq, m) }
    const prev = m.get(from)
    if (prev !== undefined) {
      return bytesEqual(prev.blockHash, vote.blockHash) && bytesEqual(prev.stateRoot, vote.stateRoot) ? 'duplicate' : 'equivocation'
    }
    m.set(from, vote)
    return 'ok'
  }

  own (self: ReplicaId, seq: number): CheckpointVote | undefined {
    return this.votes.get(seq)?.get(self)
  }

  /** The certificate for seq when a quorum agrees and it was not reported before; null otherwise. */
  newCertificate (seq: number): StableProof | null {
    if (this.certified.has(seq)) return null
    const m = this.votes.get(seq)
    if (m === undefined || m.size < this.quorum) return null
    const groups = new Map<string, Array<[ReplicaId, CheckpointVote]>>()
    for (const [r, v] of m) {
      const key = toHex(v.blockHash) + ':' + toHex(v.stateRoot)
      const g = groups.get(key)
      if (g === undefined) groups.set(key, [[r, v]]); else g.push([r, v])
    }
    for (const g of groups.values()) {
      if (g.length < this.quorum) continue
      g.sort((a, b) => a[0] - b[0])
      const signatures: CheckpointSignature[] = g.map(([replica, v]) => ({ replica, signature: v.signature }))
      const proof: StableProof = { seq, blockHash: g[0]![1].blockHash, stateRoot: g[0]![1].stateRoot, signatures }
      this.certified.set(seq, proof)
      return proof
    }
    return null
  }

  certificate (seq: number): StableProof | undefined {
    return this.certified.get(seq)
  }

  certifiedSeqs (): number[] {
    return [...this.certified.keys()]
  }

  /** The highest checkpoint seq replica r has sent us. */
  claimedByReplica (r: ReplicaId): number {
    return this.highest[r] ?? 0
  }

  /** The seq that at least `count` replicas other than self claim to have reached. */
  claimedBy (count: number, self: ReplicaId): number {
    const others = this.highest.filter((_, i) => i !== self).sort((a, b) => b - a)
    return others[count - 1] ?? 0
  }

  /**
   * Forgets everything at or below low - margin. The margin lets late votes still certify the
   * blocks just below a new stable checkpoint (every block needs its own certificate).
   */
  gc (low: number, margin: number): void {
    for (const seq of this.votes.keys()) if (seq <= low - margin) this.votes.delete(seq)
    for (const seq of this.certified.keys()) if (seq <= low - margin) this.certified.delete(seq)
  }
}
