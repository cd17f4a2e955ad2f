import { batchOf, primaryOf, type PreparedProof, type ViewChangeInfo } from './evidence.js'
import { decodeTrusted, type StableProof } from './messages.js'
import { slotOf, type SeqEntry } from './slots.js'
import type { PersistRecord, ReplicaId } from './types.js'
import { parseRecord, type ParsedRecord } from './wal.js'

export interface RestoredState {
  stable: StableProof
  /** Highest view this replica worked in (sent or accepted a pre-prepare, vote or new-view for). */
  view: number
  /** Highest view it asked for in a VIEW-CHANGE; > view means it was in a view change. */
  target: number
  nextSeq: number
  lastProposedTimestamp: number
  log: Map<number, SeqEntry>
  checkpoints: Array<{ seq: number, blockHash: Uint8Array, stateRoot: Uint8Array, signature: Uint8Array }>
  ownViewChange?: ViewChangeInfo
  /** The accepted NEW-VIEW of the restored view, if it is not view 0. */
  newViewWire?: Uint8Array
  /** The highest CHECKPOINT this replica signed. */
  lastCheckpointWire?: Uint8Array
}

const GENESIS: StableProof = { seq: 0, blockHash: new Uint8Array(0), stateRoot: new Uint8Array(0), signatures: [] }

/**
 * Rebuilds what a replica signed before a crash from its own records, so that it never signs
 * a second, different message for a (view, seq) and rejoins its view (or its view change).
 * Evidence received from others is lost except what the records carry (accepted
 * pre-prepares, prepared certificates, accepted new-views). Throws CorruptionError.
 */
export function restoreState (records: PersistRecord[], lastExecuted: number, self: ReplicaId, n: number): RestoredState {
  const parsed: ParsedRecord[] = records.map((r, i) => parseRecord(r, i))
  let stable = GENESIS
  let view = 0
  let target = 0
  let ownVc: Extract<ParsedRecord, { kind: 'view-change' }> | undefined
  for (const p of parsed) {
    switch (p.kind) {
      case 'stable': if (p.proof.seq > stable.seq) stable = p.proof; break
      case 'pre-prepare': view = Math.max(view, p.pp.payload.view); break
      case 'prepare': view = Math.max(view, p.prepare.payload.view); break
      case 'commit': view = Math.max(view, p.commit.payload.view); break
      case 'new-view': view = Math.max(view, p.nv.payload.view); break
      case 'view-change':
        if (p.vc.payload.newView > target) { target = p.vc.payload.newView; ownVc = p }
        break
      case 'checkpoint': break
    }
  }
  target = Math.max(target, view)
  const log = new Map<number, SeqEntry>()
  const checkpoints: RestoredState['checkpoints'] = []
  let nextSeq = Math.max(lastExecuted, stable.seq) + 1
  let lastProposedTimestamp = 0
  let newViewWire: Uint8Array | undefined
  let lastCheckpoint: { seq: number, wire: Uint8Array } | undefined
  const live = (seq: number): boolean => seq > stable.seq
  const ownProposal = (seq: number, timestamp: number): void => {
    nextSeq = Math.max(nextSeq, seq + 1)
    lastProposedTimestamp = Math.max(lastProposedTimestamp, timestamp)
  }
  for (const p of parsed) {
    switch (p.kind) {
      case 'pre-prepare': {
        const pp = p.pp.payload
        if (pp.view === view && live(pp.seq)) {
          slotOf(log, pp.seq, view).batch = batchOf(p.pp, p.ppWire)
          ownProposal(pp.seq, pp.timestamp)
        }
        break
      }
      case 'prepare': {
        const v = p.prepare.payload
        if (v.view === view && live(v.seq)) {
          const slot = slotOf(log, v.seq, view)
          slot.batch = batchOf(p.pp, p.ppWire)
          slot.prepares.set(self, { digest: v.digest, wire: p.prepareWire })
        }
        break
      }
      case 'commit': {
        const v = p.commit.payload
        if (!live(v.seq)) break
        const proof: PreparedProof = { batch: batchOf(p.pp, p.ppWire), prepares: p.prepares }
        const slot = slotOf(log, v.seq, v.view)
        const entry = log.get(v.seq)!
        if (entry.cert === undefined || entry.cert.batch.view <= v.view) entry.cert = proof
        if (v.view !== view) { entry.slots.delete(v.view); break }
        slot.batch = proof.batch
        slot.prepared = true
        for (const w of p.prepares) {
          const b = decodeTrusted(w)
          slot.prepares.set(b.from, { digest: v.digest, wire: w })
        }
        slot.commits.set(self, { digest: v.digest, wire: p.commitWire })
        break
      }
      case 'new-view':
        if (p.nv.payload.view !== view) break
        newViewWire = p.wire
        for (const { pp, wire } of p.prePrepares) {
          if (!live(pp.payload.seq)) continue
          slotOf(log, pp.payload.seq, view).batch = batchOf(pp, wire)
          if (primaryOf(view, n) === self) ownProposal(pp.payload.seq, pp.payload.timestamp)
        }
        if (primaryOf(view, n) === self) nextSeq = Math.max(nextSeq, p.prePrepares.length === 0 ? 0 : p.prePrepares[p.prePrepares.length - 1]!.pp.payload.seq + 1)
        break
      case 'checkpoint': {
        const c = p.checkpoint.payload
        checkpoints.push({ seq: c.seq, blockHash: c.blockHash, stateRoot: c.stateRoot, signature: c.signature })
        if (lastCheckpoint === undefined || c.seq >= lastCheckpoint.seq) lastCheckpoint = { seq: c.seq, wire: p.wire }
        break
      }
      default: break
    }
  }
  let ownViewChange: ViewChangeInfo | undefined
  if (ownVc !== undefined) {
    const prepared = new Map<number, PreparedProof>()
    for (const c of ownVc.vc.payload.prepared) {
      const pp = decodeTrusted(c.prePrepare)
      if (pp.kind === 'pre-prepare') prepared.set(pp.payload.seq, { batch: batchOf(pp, c.prePrepare), prepares: c.prepares })
    }
    ownViewChange = { from: self, newView: ownVc.vc.payload.newView, stable: ownVc.vc.payload.stable, prepared, wire: ownVc.wire }
  }
  const out: RestoredState = { stable, view, target, nextSeq, lastProposedTimestamp, log, checkpoints }
  if (ownViewChange !== undefined) out.ownViewChange = ownViewChange
  if (newViewWire !== undefined) out.newViewWire = newViewWire
  if (lastCheckpoint !== undefined) out.lastCheckpointWire = lastCheckpoint.wire
  return out
}
