import { Type, type Static } from '@sinclair/typebox'
import { Codec, bytesEqual, toHex, MAX_ENCODED_BYTES } from '../codec/index.js'
import { taggedHash, HASH_BYTES } from '../crypto/hash.js'
import { ValidationError } from '../errors.js'
import { txRoot } from './txroot.js'

const Hash32 = Type.Uint8Array({ minByteLength: HASH_BYTES, maxByteLength: HASH_BYTES })
const UInt = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

export const BlockHeaderSchema = Type.Object({
  chainId: Type.String({ minLength: 1, maxLength: 64 }),
  height: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  prevHash: Hash32,
  txRoot: Hash32,
  view: UInt,
  proposer: UInt,
  /** Proposer's clock in ms since the epoch. */
  timestamp: UInt
}, { additionalProperties: false })

export const BlockSchema = Type.Object({
  header: BlockHeaderSchema,
  txs: Type.Array(Type.Uint8Array({ minByteLength: 1 }))
}, { additionalProperties: false })

export type BlockHeader = Static<typeof BlockHeaderSchema>
export type Block = Static<typeof BlockSchema>

export const blockHeaderCodec = new Codec('BlockHeader', BlockHeaderSchema, 4096)
export const blockCodec = new Codec('Block', BlockSchema, MAX_ENCODED_BYTES)

/**
 * What a block is checked against: the block before it, or for height 1 the genesis itself
 * (height 0, hash = genesisHash, timestamp = genesisTime). Height 1's prevHash is the genesis
 * hash, so a chain cannot be replayed on a node started from another genesis.
 */
export interface ChainTip {
  chainId: string
  height: number
  hash: Uint8Array
  timestamp: number
}

const BLOCK_TAG = 'bft-ledger/block/v1'

/** The block id: a tagged hash of the canonical CBOR header. txs are bound in through txRoot. */
export function blockHash (header: BlockHeader): Uint8Array {
  return taggedHash(BLOCK_TAG, blockHeaderCodec.encode(header))
}

export interface BuildBlockInput {
  prev: ChainTip
  view: number
  proposer: number
  timestamp: number
  txs: Uint8Array[]
}

/** Deterministic: every replica that executes the same committed batch builds the same block. */
export function buildBlock (input: BuildBlockInput): { block: Block, hash: Uint8Array } {
  const header: BlockHeader = {
    chainId: input.prev.chainId,
    height: input.prev.height + 1,
    prevHash: input.prev.hash,
    txRoot: txRoot(input.txs),
    view: input.view,
    proposer: input.proposer,
    timestamp: input.timestamp
  }
  const block = { header, txs: input.txs }
  blockCodec.validate(block)
  return { block, hash: blockHash(header) }
}

/**
 * Checks that `block` extends `prev`: same chain, height + 1, prevHash linkage, txRoot over the
 * carried txs, timestamp not going backwards. Timestamps may repeat (several pipelined batches
 * can be cut in the same millisecond); skew against the local clock is consensus's check.
 * Returns the block's hash. Throws ValidationError naming the height and the field.
 */
export function validateBlock (block: Block, prev: ChainTip): Uint8Array {
  blockCodec.validate(block)
  const h = block.header
  const at = `block ${h.height}`
  if (h.chainId !== prev.chainId) {
    throw new ValidationError('ERR_WRONG_CHAIN', `${at}: chainId "${h.chainId}" is not "${prev.chainId}"`, { height: h.height })
  }
  if (h.height !== prev.height + 1) {
    throw new ValidationError('ERR_BLOCK_HEIGHT', `${at}: expected height ${prev.height + 1}`, { height: h.height })
  }
  if (!bytesEqual(h.prevHash, prev.hash)) {
    throw new ValidationError('ERR_BLOCK_PREV_HASH', `${at}: prevHash ${toHex(h.prevHash)} does not match hash ${toHex(prev.hash)} of height ${prev.height}`, { height: h.height })
  }
  if (!bytesEqual(h.txRoot, txRoot(block.txs))) {
    throw new ValidationError('ERR_BLOCK_TX_ROOT', `${at}: txRoot does not match its ${block.txs.length} transactions`, { height: h.height })
  }
  if (h.timestamp < prev.timestamp) {
    throw new ValidationError('ERR_BLOCK_TIMESTAMP', `${at}: timestamp ${h.timestamp} is before ${prev.timestamp} of height ${prev.height}`, { height: h.height })
  }
  return blockHash(h)
}

export function tipOf (block: Block, hash: Uint8Array): ChainTip {
  return { chainId: block.header.chainId, height: block.header.height, hash, timestamp: block.header.timestamp }
}
