import { encode } from '../codec/index.js'
import { sha256, taggedHash } from '../crypto/index.js'
import type { ClientRequest, ReplicaId } from '../consensus/types.js'
import type { DecodedTx } from '../state/index.js'

/** The batch a replica asked to execute (the `execute` effect without its type tag). */
export interface ExecuteBatch {
  seq: number
  view: number
  proposer: ReplicaId
  timestamp: number
  requests: ClientRequest[]
}

export interface ExecutedBlock {
  seq: number
  blockHash: Uint8Array
  stateRoot: Uint8Array
  /** Digest of the ordered request ids: what agreement compares. */
  batchDigest: Uint8Array
  proposer: ReplicaId
  timestamp: number
  requestIds: Uint8Array[]
  /** Ids applied for the first time in this block (duplicates of earlier ones are skipped). */
  appliedIds: string[]
  /**
   * Ids executed without effect that a later block may still apply (the ledger's nonce gaps):
   * passed to the replica as the `executed` event's `retryable`, so a resubmission is proposed.
   */
  retryable?: Uint8Array[]
}

/**
 * A mempool in front of consensus (the full ledger's): client requests are admitted here and
 * handed to the replica when ready, as the node does it.
 */
export interface SimMempool {
  /** Admission; a refusal (replay, bad signature, ...) is counted by the app, not thrown. */
  admit: (request: ClientRequest) => Promise<void>
  /** Ready transactions not handed to consensus yet; `all`: after a view change, every pending one. */
  reap: (all: boolean) => ClientRequest[]
  /** The replica's isValidRequest. */
  isValid: (request: ClientRequest) => boolean
  isSignatureValid: (txId: string, tx: DecodedTx) => boolean
  /**
   * A block committed these request ids; senders' next nonces moved to these values. `retry`:
   * ids it refused for a nonce gap, which stay pending behind their predecessor (as in the node).
   */
  committed: (ids: Uint8Array[], nonces: ReadonlyMap<string, number>, retry: Uint8Array[]) => void
}

/**
 * The application a simulated replica drives: executes committed batches in seq order and
 * derives blockHash and stateRoot from content only, so correct replicas that executed the
 * same history hold the same hashes. Its state is durable (the real node commits a block in
 * one atomic LevelDB batch): a crash does not lose it. `HashChainApp` is synchronous; the full
 * ledger (ledger/app.ts) is async (`isAsync`): the cluster then defers `execute` and awaits
 * it, one call at a time.
 */
export interface SimApp {
  readonly isAsync: boolean
  readonly lastExecuted: { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array }
  /** Apps without a mempool get client requests straight into the replica. */
  readonly mempool?: SimMempool
  execute: (batch: ExecuteBatch) => ExecutedBlock | Promise<ExecutedBlock>
  block: (seq: number) => ExecutedBlock | undefined
  hasApplied: (requestId: string) => boolean
  /** Block sync stand-in: adopt another replica's blocks (lastExecuted.seq, upTo]. */
  adoptFrom: (source: SimApp, upTo: number) => void | Promise<void>
  /** The replica crashed: drop what a process loses (the mempool). */
  reset?: () => void
}

export const GENESIS_HASH = taggedHash('bft-ledger/sim/genesis')

export function batchDigest (requests: ClientRequest[]): Uint8Array {
  return batchDigestOfIds(requests.map(r => r.id))
}

export function batchDigestOfIds (ids: Uint8Array[]): Uint8Array {
  return taggedHash('bft-ledger/sim/batch', ...ids)
}

export class HashChainApp implements SimApp {
  readonly isAsync = false
  private readonly blocks = new Map<number, ExecutedBlock>()
  private readonly applied = new Set<string>()
  private last: { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array } = { seq: 0, blockHash: GENESIS_HASH, stateRoot: GENESIS_HASH }

  get lastExecuted (): { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array } {
    return this.last
  }

  execute (batch: ExecuteBatch): ExecutedBlock {
    if (batch.seq !== this.last.seq + 1) {
      throw new RangeError(`execute out of order: got seq ${batch.seq}, expected ${this.last.seq + 1}`)
    }
    const appliedIds: string[] = []
    let stateRoot = this.last.stateRoot
    for (const r of batch.requests) {
      const id = Buffer.from(r.id).toString('hex')
      if (this.applied.has(id)) continue
      this.applied.add(id)
      appliedIds.push(id)
      stateRoot = taggedHash('bft-ledger/sim/state', stateRoot, r.id)
    }
    const digest = batchDigest(batch.requests)
    const blockHash = sha256(encode(['bft-ledger/sim/block', batch.seq, this.last.blockHash, digest, batch.proposer, batch.timestamp]))
    const block: ExecutedBlock = {
      seq: batch.seq,
      blockHash,
      stateRoot,
      batchDigest: digest,
      proposer: batch.proposer,
      timestamp: batch.timestamp,
      requestIds: batch.requests.map(r => r.id),
      appliedIds
    }
    this.blocks.set(batch.seq, block)
    this.last = { seq: batch.seq, blockHash, stateRoot }
    return block
  }

  block (seq: number): ExecutedBlock | undefined {
    return this.blocks.get(seq)
  }

  hasApplied (requestId: string): boolean {
    return this.applied.has(requestId)
  }

  adoptFrom (source: SimApp, upTo: number): void {
    for (let s = this.last.seq + 1; s <= upTo; s++) {
      const b = source.block(s)
      if (b === undefined) throw new RangeError(`sync source lacks block ${s}`)
      this.blocks.set(s, b)
      for (const id of b.appliedIds) this.applied.add(id)
      this.last = { seq: s, blockHash: b.blockHash, stateRoot: b.stateRoot }
    }
  }
}
