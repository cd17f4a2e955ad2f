import { Type } from '@sinclair/typebox'
import { Codec } from '../codec/index.js'
import { CorruptionError, errorMessage } from '../errors.js'
import {
  decodeTrusted, StableProofSchema, type CheckpointBody, type CommitBody, type MessageBody, type NewViewBody,
  type PrePrepareBody, type PrepareBody, type StableProof, type ViewChangeBody
} from './messages.js'
import type { PersistRecord } from './types.js'

/**
 * The replica's write-ahead records. Each holds the signed wire bytes of something this
 * replica signed, plus the evidence it needs to carry on after a restart (the pre-prepare it
 * voted for, its prepared certificate). docs/consensus.md lists them.
 */

const Wire = Type.Uint8Array({ minByteLength: 1 })
const prepareRecordCodec = new Codec('prepare record', Type.Object({ prepare: Wire, prePrepare: Wire }, { additionalProperties: false }))
const commitRecordCodec = new Codec('commit record', Type.Object({ commit: Wire, prePrepare: Wire, prepares: Type.Array(Wire) }, { additionalProperties: false }))
const stableRecordCodec = new Codec('stable record', StableProofSchema)

export function prePrepareRecord (seq: number, wire: Uint8Array): PersistRecord {
  return { kind: 'pre-prepare', seq, bytes: wire }
}
export function prepareRecord (seq: number, prepare: Uint8Array, prePrepare: Uint8Array): PersistRecord {
  return { kind: 'prepare', seq, bytes: prepareRecordCodec.encode({ prepare, prePrepare }) }
}
export function commitRecord (seq: number, commit: Uint8Array, prePrepare: Uint8Array, prepares: Uint8Array[]): PersistRecord {
  return { kind: 'commit', seq, bytes: commitRecordCodec.encode({ commit, prePrepare, prepares }) }
}
export function checkpointRecord (seq: number, wire: Uint8Array): PersistRecord {
  return { kind: 'checkpoint', seq, bytes: wire }
}
export function viewChangeRecord (wire: Uint8Array): PersistRecord {
  return { kind: 'view-change', bytes: wire }
}
export function newViewRecord (wire: Uint8Array): PersistRecord {
  return { kind: 'new-view', bytes: wire }
}
export function stableRecord (proof: StableProof): PersistRecord {
  return { kind: 'stable', seq: proof.seq, bytes: stableRecordCodec.encode(proof) }
}

export type ParsedRecord =
  | { kind: 'pre-prepare', pp: PrePrepareBody, ppWire: Uint8Array }
  | { kind: 'prepare', prepare: PrepareBody, prepareWire: Uint8Array, pp: PrePrepareBody, ppWire: Uint8Array }
  | { kind: 'commit', commit: CommitBody, commitWire: Uint8Array, pp: PrePrepareBody, ppWire: Uint8Array, prepares: Uint8Array[] }
  | { kind: 'checkpoint', checkpoint: CheckpointBody, wire: Uint8Array }
  | { kind: 'view-change', vc: ViewChangeBody, wire: Uint8Array }
  | { kind: 'new-view', nv: NewViewBody, wire: Uint8Array, prePrepares: Array<{ pp: PrePrepareBody, wire: Uint8Array }> }
  | { kind: 'stable', proof: StableProof }

function expect<K extends MessageBody['kind']> (wire: Uint8Array, kind: K): Extract<MessageBody, { kind: K }> {
  const body = decodeTrusted(wire)
  if (body.kind !== kind) throw new CorruptionError(`expected a ${kind} message, found ${body.kind}`)
  return body as Extract<MessageBody, { kind: K }>
}

/** Decodes one of this replica's own records; CorruptionError (with the record index) when unreadable. */
export function parseRecord (rec: PersistRecord, index: number): ParsedRecord {
  try {
    switch (rec.kind) {
      case 'pre-prepare':
        return { kind: 'pre-prepare', pp: expect(rec.bytes, 'pre-prepare'), ppWire: rec.bytes }
      case 'prepare': {
        const r = prepareRecordCodec.decode(rec.bytes)
        return { kind: 'prepare', prepare: expect(r.prepare, 'prepare'), prepareWire: r.prepare, pp: expect(r.prePrepare, 'pre-prepare'), ppWire: r.prePrepare }
      }
      case 'commit': {
        const r = commitRecordCodec.decode(rec.bytes)
        return { kind: 'commit', commit: expect(r.commit, 'commit'), commitWire: r.commit, pp: expect(r.prePrepare, 'pre-prepare'), ppWire: r.prePrepare, prepares: r.prepares }
      }
      case 'checkpoint':
        return { kind: 'checkpoint', checkpoint: expect(rec.bytes, 'checkpoint'), wire: rec.bytes }
      case 'view-change':
        return { kind: 'view-change', vc: expect(rec.bytes, 'view-change'), wire: rec.bytes }
      case 'new-view': {
        const nv = expect(rec.bytes, 'new-view')
        const prePrepares = nv.payload.prePrepares.map(w => ({ pp: expect(w, 'pre-prepare'), wire: w }))
        return { kind: 'new-view', nv, wire: rec.bytes, prePrepares }
      }
      case 'stable':
        return { kind: 'stable', proof: stableRecordCodec.decode(rec.bytes) }
      default:
        throw new CorruptionError(`unknown record kind "${rec.kind}"`)
    }
  } catch (err) {
    throw new CorruptionError(`consensus record #${index} (${rec.kind}) is unreadable: ${errorMessage(err)}`, { index, kind: rec.kind })
  }
}
