/**
 * Contract between execution/authenticated state (state/) and the block store (ledger/),
 * the mempool and the node. state/ implements it; ledger/ and node/ use only this surface.
 */
import type { AbstractBatchOperation, AbstractLevel, AbstractSublevel } from 'abstract-level'

/** Everything a contract may see of the block it runs in. No wall clock, no randomness. */
export interface BlockContext {
  chainId: string
  height: number
  /** Proposer's timestamp in ms, already checked by consensus for monotonicity and skew. */
  timestamp: number
  proposer: number
}

export interface Receipt {
  txId: Uint8Array
  /** 'ok' or a stable failure code such as 'ERR_INSUFFICIENT_FUNDS'. */
  status: string
  /** Human-readable reason for a failure, '' on success. */
  error: string
  /** Canonical CBOR-encodable return value of the call (null when none). */
  result: unknown
  /** Events emitted by the contract, in order (e.g. lock granted with fencing token). */
  events: Array<{ type: string, data: unknown }>
}

/**
 * Failure codes after which the same signed tx may still apply in a later block: it changed
 * nothing, not even its nonce, and only its position was wrong (its sender's earlier nonce had
 * not committed yet). Every other failure is final for those bytes.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['ERR_NONCE_GAP'])

/**
 * Failure codes the executor gives before it consumes the sender's nonce (docs/state.md,
 * execution rules 1-4): such a tx changed nothing, not even its nonce. Every other receipt,
 * 'ok' or a failure, means the tx was applied and its nonce is used. RETRYABLE_CODES is the
 * subset that can change later.
 */
export const UNAPPLIED_CODES: ReadonlySet<string> = new Set(['ERR_TX_MALFORMED', 'ERR_TX_OVERSIZE', 'ERR_DUPLICATE_TX', 'ERR_WRONG_CHAIN', 'ERR_BAD_SIGNATURE', 'ERR_STALE_NONCE', 'ERR_NONCE_GAP'])

/**
 * What a receipt's status means for its tx: 'applied' (its nonce is used, whether it succeeded
 * or failed), 'retryable' (it changed nothing and may still apply in a later block) or
 * 'refused' (it changed nothing, and these bytes never will).
 */
export type ReceiptOutcome = 'applied' | 'retryable' | 'refused'

export function outcomeOf (status: string): ReceiptOutcome {
  if (!UNAPPLIED_CODES.has(status)) return 'applied'
  return RETRYABLE_CODES.has(status) ? 'retryable' : 'refused'
}

/** A state change: value null deletes the key. Keys are contract-namespaced raw bytes. */
export interface StateWrite {
  key: Uint8Array
  value: Uint8Array | null
}

export interface ExecutionResult {
  receipts: Receipt[]
  /** Net writes of the whole block, sorted by key, one per key. */
  writes: StateWrite[]
}

/** A Merkle proof that `key` maps to `value` (or to nothing) under `root`. Wire-encodable. */
export interface StateProof {
  key: Uint8Array
  value: Uint8Array | null
  /** Opaque to callers; checked by verifyStateProof(root, proof). */
  proof: unknown
}

export type LevelDb = AbstractLevel<string | Uint8Array | Buffer, Uint8Array, Uint8Array>
export type Sublevel = AbstractSublevel<LevelDb, string | Uint8Array | Buffer, Uint8Array, Uint8Array>
export type BatchOp = AbstractBatchOperation<LevelDb, Uint8Array, Uint8Array>
