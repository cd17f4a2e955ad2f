import { Type, type Static } from '@sinclair/typebox'
import { Codec, MAX_ENCODED_BYTES, encode } from '../codec/index.js'
import { HASH_BYTES, taggedHash } from '../crypto/index.js'
import type { Receipt } from '../state/api.js'
import { BlockSchema } from './block.js'

const Hash32 = Type.Uint8Array({ minByteLength: HASH_BYTES, maxByteLength: HASH_BYTES })
const UInt = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

/**
 * What the store keeps per height. The hash is stored (not only recomputed) so recovery can tell
 * "this record was altered" from "the chain links are wrong"; receiptsHash commits to the
 * separately stored receipts so they can be re-verified too. A stateRoot is only signed once
 * its certificate exists, so the checksum is what catches a damaged stateRoot before that.
 */
export const StoredRecordSchema = Type.Object({
  hash: Hash32,
  block: BlockSchema,
  stateRoot: Hash32,
  receiptsHash: Hash32,
  /** recordChecksum(hash, stateRoot, receiptsHash): the block is covered by its hash, the rest by this. */
  checksum: Hash32
}, { additionalProperties: false })
export type StoredRecord = Static<typeof StoredRecordSchema>
export const storedRecordCodec = new Codec('StoredBlock', StoredRecordSchema, MAX_ENCODED_BYTES + 4096)

export const ReceiptSchema = Type.Object({
  txId: Type.Uint8Array({ minByteLength: 1, maxByteLength: 64 }),
  status: Type.String({ minLength: 1, maxLength: 128 }),
  error: Type.String({ maxLength: 4096 }),
  result: Type.Unknown(),
  events: Type.Array(Type.Object({ type: Type.String(), data: Type.Unknown() }, { additionalProperties: false }))
}, { additionalProperties: false })
export const receiptsCodec = new Codec('Receipts', Type.Array(ReceiptSchema), MAX_ENCODED_BYTES)

export const TxLocationSchema = Type.Object({ height: Type.Integer({ minimum: 1 }), index: UInt }, { additionalProperties: false })
export const txLocationCodec = new Codec('TxLocation', TxLocationSchema, 64)

export const HeadSchema = Type.Object({
  chainId: Type.String(),
  height: Type.Integer({ minimum: 1 }),
  hash: Hash32,
  stateRoot: Hash32,
  timestamp: UInt
}, { additionalProperties: false })
/** The newest committed block; written in the same batch as the block itself. */
export type Head = Static<typeof HeadSchema>
export const headCodec = new Codec('Head', HeadSchema, 1024)

export function receiptsHash (receipts: readonly Receipt[]): Uint8Array {
  return receiptsHashOfBytes(encode(receipts))
}

/** Same hash from the stored canonical bytes: recovery checks receipts without decoding them. */
export function receiptsHashOfBytes (encoded: Uint8Array): Uint8Array {
  return taggedHash('bft-ledger/receipts/v1', encoded)
}

export function recordChecksum (hash: Uint8Array, stateRoot: Uint8Array, receiptsHash: Uint8Array): Uint8Array {
  return taggedHash('bft-ledger/stored-block/v1', hash, stateRoot, receiptsHash)
}
