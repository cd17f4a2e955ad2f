import type { Batch, PreparedProof } from './evidence.js'
import type { ReplicaId } from './types.js'

export interface Vote { digest: Uint8Array, wire: Uint8Array }

/** What one replica knows about one (view, seq). */
export interface Slot {
  batch?: Batch
  prepares: Map<ReplicaId, Vote>
  commits: Map<ReplicaId, Vote>
  prepared: boolean
  committed: boolean
}

/** What one replica knows about one seq across views. */
export interface SeqEntry {
  slots: Map<number, Slot>
  /** Highest-view prepared certificate: what this replica must carry into a VIEW-CHANGE. */
  cert?: PreparedProof
  /** Committed-local: the batch that executes at this seq, whichever view decided it. */
  decided?: Batch
  /** The 2f+1 signed COMMITs that decided it: with decided.wire, a proof any replica can check. */
  decidedCommits?: Uint8Array[]
  /**
   * Evidence from views this replica is not working in (older views, or a pre-prepare it
   * could not accept itself, e.g. too late for the clock-skew rule, or a second one from an
   * equivocating primary, and commits that conflict with a sender's first vote): enough of it
   * (a pre-prepare and 2f+1 matching commits) decides the seq anyway.
   */
  late?: Map<number, { batch?: Batch, commits: Map<ReplicaId, Vote> }>
}

export function slotOf (log: Map<number, SeqEntry>, seq: number, view: number): Slot {
  let e = log.get(seq)
  if (e === undefined) { e = { slots: new Map() }; log.set(seq, e) }
  let s = e.slots.get(view)
  if (s === undefined) { s = { prepares: new Map(), commits: new Map(), prepared: false, committed: false }; e.slots.set(view, s) }
  return s
}
