import { toHex } from '../codec/index.js'
import type { ClientRequest } from './types.js'

/** Beyond this many known-but-unexecuted requests new ones are refused (the mempool bounds too). */
export const MAX_PENDING = 100_000

/**
 * The requests a replica knows of and has not executed yet, in arrival order. Every replica
 * keeps them, not only the primary: they drive the backup's view-change timer, and a backup
 * that becomes primary must propose what the old primary dropped.
 */
export class RequestPool {
  private readonly pending = new Map<string, ClientRequest>()
  /** Subset of pending that is in no live batch: what the primary may still propose. */
  private readonly unproposed = new Map<string, ClientRequest>()
  /**
   * Ids in a live batch (proposed or re-issued, not executed yet). A request that arrives (again)
   * while its batch is live is pending but must not be proposed a second time: the node hands
   * its whole mempool over after a view change or a sync, and the pool may have just been
   * cleared (sync), so `pending` alone cannot tell.
   */
  private live = new Set<string>()
  private unproposedBytesTotal = 0
  /** Ids executed recently, by seq, so a resubmitted request is never proposed twice. */
  private readonly recent = new Map<string, number>()
  private readonly recentBySeq: Array<{ seq: number, ids: string[] }> = []

  constructor (private readonly recentSeqs: number) {}

  get pendingCount (): number { return this.pending.size }
  get unproposedCount (): number { return this.unproposed.size }
  get unproposedBytes (): number { return this.unproposedBytesTotal }

  /** False when the request is already known, recently executed, or the pool is full. */
  add (r: ClientRequest): boolean {
    const id = toHex(r.id)
    if (this.pending.has(id) || this.recent.has(id) || this.pending.size >= MAX_PENDING) return false
    this.pending.set(id, r)
    if (!this.live.has(id)) {
      this.unproposed.set(id, r)
      this.unproposedBytesTotal += requestSize(r)
    }
    return true
  }

  isRecentlyExecuted (id: Uint8Array): boolean {
    return this.recent.has(toHex(id))
  }

  /** Takes the oldest unproposed requests that fit one batch; a single oversized request goes alone. */
  takeBatch (maxCount: number, maxBytes: number): ClientRequest[] {
    const out: ClientRequest[] = []
    let bytes = 0
    for (const [id, r] of this.unproposed) {
      const size = requestSize(r)
      if (out.length >= maxCount || (out.length > 0 && bytes + size > maxBytes)) break
      out.push(r)
      bytes += size
      this.live.add(id)
      this.unproposed.delete(id)
      this.unproposedBytesTotal -= size
    }
    return out
  }

  /** After a view change: everything pending that is not in a live batch may be proposed again. */
  resetUnproposed (live: Set<string>): void {
    this.live = live
    this.unproposed.clear()
    this.unproposedBytesTotal = 0
    for (const [id, r] of this.pending) {
      if (live.has(id)) continue
      this.unproposed.set(id, r)
      this.unproposedBytesTotal += requestSize(r)
    }
  }

  markExecuted (seq: number, ids: Uint8Array[]): void {
    const hexIds = ids.map(toHex)
    for (const id of hexIds) {
      this.pending.delete(id)
      this.live.delete(id)
      const r = this.unproposed.get(id)
      if (r !== undefined) {
        this.unproposed.delete(id)
        this.unproposedBytesTotal -= requestSize(r)
      }
      this.recent.set(id, seq)
    }
    this.recentBySeq.push({ seq, ids: hexIds })
    while (this.recentBySeq.length > 0 && this.recentBySeq[0]!.seq <= seq - this.recentSeqs) {
      for (const id of this.recentBySeq.shift()!.ids) {
        if (this.recent.get(id) !== undefined && this.recent.get(id)! <= seq - this.recentSeqs) this.recent.delete(id)
      }
    }
  }

  /**
   * The application executed these ids without applying them, and a later block may (see the
   * `executed` event's `retryable`): a resubmission is welcome again. Their recentBySeq entries
   * stay; the expiry loop only deletes an id still recorded at that old seq.
   */
  forgetExecuted (ids: Uint8Array[]): void {
    for (const id of ids) this.recent.delete(toHex(id))
  }

  /**
   * After a block sync the replica cannot tell which pending requests the synced blocks held.
   * `live`: the ids of the batches still live after the sync (above the synced height).
   */
  clearPending (live: Set<string>): void {
    this.live = live
    this.pending.clear()
    this.unproposed.clear()
    this.unproposedBytesTotal = 0
  }
}

export function requestSize (r: ClientRequest): number {
  return r.bytes.length + r.id.length
}
