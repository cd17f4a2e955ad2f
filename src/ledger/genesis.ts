import { createHash } from 'node:crypto'
import { MAX_MESSAGE_BYTES, maxViewChangeBytes } from '../consensus/messages.js'
import { readFile } from 'node:fs/promises'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Point } from '@noble/ed25519'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { Logger } from 'pino'
import { encode, fromHex, toHex, MAX_ENCODED_BYTES } from '../codec/index.js'
import { taggedHash } from '../crypto/index.js'
import { faultTolerance } from '../consensus/types.js'
import { ConfigError, errorMessage } from '../errors.js'
import { MAX_TX_BYTES } from '../state/tx.js'
import type { ChainTip } from './block.js'

export const U64_MAX = (1n << 64n) - 1n

const int = (minimum: number, maximum: number, description: string) => Type.Integer({ minimum, maximum, description })

export const ChainParamsSchema = Type.Object({
  maxBatchSize: int(1, 100_000, 'max transactions in one batch (= one block)'),
  maxBatchBytes: int(1024, MAX_ENCODED_BYTES - 64 * 1024, 'max total transaction bytes in one batch'),
  batchTimeoutMs: int(1, 60_000, 'a non-empty batch is cut at the latest this long after its first request'),
  checkpointInterval: int(1, 100_000, 'K: every K-th certificate becomes a stable checkpoint'),
  windowSize: int(1, 1_000_000, 'L: sequence numbers in (h, h+L] may be in flight; must be >= checkpointInterval'),
  viewChangeTimeoutMs: int(50, 600_000, 'base view-change timeout, doubled per consecutive view change'),
  maxClockSkewMs: int(0, 3_600_000, 'max |proposer timestamp - local clock| a backup accepts'),
  maxTxBytes: int(64, MAX_TX_BYTES, 'max encoded size of one transaction (state/ caps it at MAX_TX_BYTES)'),
  mempoolSize: int(1, 10_000_000, 'max transactions held in the mempool'),
  mempoolPerSender: int(1, 10_000_000, 'max transactions held per sender (ready + future nonces)')
}, { additionalProperties: false })
export type ChainParams = Static<typeof ChainParamsSchema>

export const GenesisFileSchema = Type.Object({
  chainId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'signed into every tx and consensus message' }),
  genesisTime: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'ms since the Unix epoch; block 1 timestamp must not be earlier' }),
  validators: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 64 }),
    publicKey: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'ed25519 public key, 32 bytes lowercase hex' }),
    peerId: Type.String({ minLength: 1, maxLength: 128, description: 'libp2p peer id of the same ed25519 key' })
  }, { additionalProperties: false }), { minItems: 1, maxItems: 1000, description: 'validator i is replica i; n must be 1 or 3f+1' }),
  balances: Type.Array(Type.Object({
    address: Type.String({ pattern: '^[0-9a-f]{40}$' }),
    amount: Type.String({ pattern: '^(0|[1-9][0-9]{0,19})$', description: 'decimal u64' })
  }, { additionalProperties: false }), { maxItems: 1_000_000 }),
  params: ChainParamsSchema
}, { additionalProperties: false })
export type GenesisFile = Static<typeof GenesisFileSchema>

export const DEFAULT_PARAMS: ChainParams = {
  maxBatchSize: 1000,
  maxBatchBytes: 1024 * 1024,
  batchTimeoutMs: 20,
  checkpointInterval: 8,
  windowSize: 16,
  viewChangeTimeoutMs: 2000,
  maxClockSkewMs: 5000,
  maxTxBytes: 16 * 1024,
  mempoolSize: 50_000,
  mempoolPerSender: 256
}

export interface GenesisValidator {
  name: string
  publicKey: Uint8Array
  peerId: string
}

/** A checked genesis: keys as bytes, amounts as bigint. */
export interface Genesis {
  chainId: string
  genesisTime: number
  validators: GenesisValidator[]
  balances: Array<{ address: string, amount: bigint }>
  params: ChainParams
}

const check = TypeCompiler.Compile(GenesisFileSchema)

export function peerIdOfKey (publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

export interface ParseOptions {
  /** Named in every error (a file path), default "genesis". */
  source?: string
  log?: Logger
}

/**
 * Checks a parsed genesis JSON value: shape first (every error names the JSON path), then the
 * rules a schema cannot express. The validator count must be 1 (a dev chain, no fault
 * tolerance) or 3f+1: the quorum 2f+1 used everywhere only intersects in an honest replica
 * when n = 3f+1 (with n = 5, two quorums of 3 may share just one, possibly faulty, replica).
 */
export function parseGenesis (json: unknown, opts: ParseOptions = {}): Genesis {
  const src = opts.source ?? 'genesis'
  const fail = (path: string, msg: string): never => { throw new ConfigError(`${src}: ${path}: ${msg}`, { source: src, path }) }
  if (!check.Check(json)) {
    const e = check.Errors(json).First()
    const path = e === undefined || e.path === '' ? '/' : e.path
    return fail(path, e?.message ?? 'does not match the genesis schema (genesis/schema.json)')
  }
  const g = json
  const n = g.validators.length
  const { f } = faultTolerance(n)
  if (n !== 1 && n !== 3 * f + 1) {
    fail('/validators', `${n} validators: use 1 (development) or 3f+1 (4, 7, 10, ...); with ${n} the 2f+1 quorums do not always intersect in an honest validator`)
  }
  const keys = new Map<string, number>(); const peers = new Map<string, number>(); const names = new Map<string, number>()
  const validators: GenesisValidator[] = g.validators.map((v, i) => {
    const at = `/validators/${i}`
    const first = keys.get(v.publicKey) ?? peers.get(v.peerId) ?? names.get(v.name)
    if (keys.has(v.publicKey)) fail(`${at}/publicKey`, `same public key as validator ${first}`)
    if (peers.has(v.peerId)) fail(`${at}/peerId`, `same peer id as validator ${first}`)
    if (names.has(v.name)) fail(`${at}/name`, `same name as validator ${first}`)
    keys.set(v.publicKey, i); peers.set(v.peerId, i); names.set(v.name, i)
    const publicKey = fromHex(v.publicKey, 32)
    let point: Point
    try {
      point = Point.fromBytes(publicKey, false)
    } catch (err) {
      return fail(`${at}/publicKey`, `not a valid ed25519 public key (${errorMessage(err)})`)
    }
    if (point.isSmallOrder()) fail(`${at}/publicKey`, 'is a small-order point, not a usable key')
    const expected = peerIdOfKey(publicKey)
    if (v.peerId !== expected) fail(`${at}/peerId`, `"${v.peerId}" is not the peer id of publicKey (expected "${expected}")`)
    return { name: v.name, publicKey, peerId: v.peerId }
  })
  const addresses = new Map<string, number>()
  let total = 0n
  const balances = g.balances.map((b, i) => {
    const at = `/balances/${i}`
    const dup = addresses.get(b.address)
    if (dup !== undefined) fail(`${at}/address`, `address ${b.address} already funded by balances/${dup}`)
    addresses.set(b.address, i)
    const amount = BigInt(b.amount)
    if (amount > U64_MAX) fail(`${at}/amount`, `${b.amount} exceeds the u64 maximum ${U64_MAX}`)
    total += amount
    return { address: b.address, amount }
  })
  if (total > U64_MAX) fail('/balances', `total supply ${total} exceeds the u64 maximum ${U64_MAX}`)
  const p = g.params
  if (p.windowSize < p.checkpointInterval) fail('/params/windowSize', `${p.windowSize} is below checkpointInterval ${p.checkpointInterval}: replicas would stall before every checkpoint`)
  if (p.maxBatchBytes < p.maxTxBytes) fail('/params/maxBatchBytes', `${p.maxBatchBytes} is below maxTxBytes ${p.maxTxBytes}: a maximal tx could never be proposed`)
  if (p.mempoolPerSender > p.mempoolSize) fail('/params/mempoolPerSender', `${p.mempoolPerSender} exceeds mempoolSize ${p.mempoolSize}`)
  // A view change must be able to carry a full window of prepared batches in one message.
  const viewChange = maxViewChangeBytes(validators.length, p.windowSize, p.maxBatchBytes)
  if (viewChange > MAX_MESSAGE_BYTES) {
    fail('/params/windowSize', `a view change with ${validators.length} validators, windowSize ${p.windowSize} and maxBatchBytes ${p.maxBatchBytes} can need a ${viewChange}-byte NEW-VIEW, over the ${MAX_MESSAGE_BYTES}-byte message limit: lower windowSize or maxBatchBytes`)
  }
  if (p.windowSize < 2 * p.checkpointInterval) {
    opts.log?.warn({ source: src, windowSize: p.windowSize, checkpointInterval: p.checkpointInterval }, 'windowSize below 2 x checkpointInterval: the pipeline drains at every checkpoint')
  }
  return { chainId: g.chainId, genesisTime: g.genesisTime, validators, balances, params: { ...p } }
}

export async function loadGenesis (path: string, log?: Logger): Promise<Genesis> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read genesis file ${path}: ${errorMessage(err)}`, { source: path })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`genesis file ${path} is not valid JSON: ${errorMessage(err)}`, { source: path })
  }
  return parseGenesis(json, log === undefined ? { source: path } : { source: path, log })
}

/** The JSON form (for writing files and for the API). */
export function genesisToJson (g: Genesis): GenesisFile {
  return {
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    validators: g.validators.map(v => ({ name: v.name, publicKey: toHex(v.publicKey), peerId: v.peerId })),
    balances: g.balances.map(b => ({ address: b.address, amount: b.amount.toString() })),
    params: { ...g.params }
  }
}

/** Hash of the canonical CBOR of the checked genesis; block 1's prevHash. */
/**
 * Identity of a genesis: taggedHash of the canonical CBOR of everything but the balances, which
 * enter as their count and a streamed hash of each entry's canonical CBOR in file order. One
 * CBOR value holding every balance hit the codec's 8 MiB cap at ~140,000 accounts; streaming
 * has no such limit (1,000,000 accounts hash in about a second).
 */
export function genesisHash (g: Genesis): Uint8Array {
  const balances = createHash('sha256')
  balances.update('bft-ledger/genesis/balances\0')
  for (const b of g.balances) balances.update(encode({ address: b.address, amount: b.amount }))
  return taggedHash('bft-ledger/genesis/v2', encode({
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    validators: g.validators.map(v => ({ name: v.name, publicKey: v.publicKey, peerId: v.peerId })),
    balanceCount: g.balances.length,
    balancesHash: new Uint8Array(balances.digest()),
    params: { ...g.params }
  }))
}

/** The chain tip before block 1. */
export function genesisTip (g: Genesis): ChainTip {
  return { chainId: g.chainId, height: 0, hash: genesisHash(g), timestamp: g.genesisTime }
}
