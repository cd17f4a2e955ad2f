import type { Logger } from '../log.js'
import { bytesEqual, toHex } from '../codec/index.js'
import { CorruptionError, ValidationError } from '../errors.js'
import { buildBlock, validateBlock, type Block, type ChainTip } from '../ledger/block.js'
import { verifyCertificate, type Certificate } from '../ledger/certificate.js'
import type { BlockStore } from '../ledger/store.js'
import type { Genesis } from '../ledger/genesis.js'
import { executeBlock, outcomeOf, type DecodedTx } from '../state/index.js'
import type { StateStore } from '../state/store.js'
import type { Receipt } from '../state/api.js'

export interface CommittedBlock {
  block: Block
  hash: Uint8Array
  stateRoot: Uint8Array
  receipts: Receipt[]
  /** Where the block's time went, in ms: running its txs, the state tree update, the durable write. */
  timings: BlockTimings
}

export interface BlockTimings { executeMs: number, stateMs: number, writeMs: number }

/**
 * A block slower than this is logged with its stage timings. Backups start a view change when
 * nothing executes for viewChangeTimeoutMs (2 s on the bench testnet), so a block taking a
 * second already eats half of that margin.
 */
export const SLOW_BLOCK_MS = 1000

export interface PipelineDeps {
  genesis: Genesis
  genesisTip: ChainTip
  store: BlockStore
  state: StateStore
  /** Cached stateless verdict (mempool); falls back to verifying when unknown. */
  isSignatureValid: (txId: string, tx: DecodedTx) => boolean
  /** A held decoded tx with this id and exactly these bytes (the mempool's), to skip decoding it again. */
  decoded: (txId: Uint8Array, bytes: Uint8Array) => DecodedTx | undefined
  onCommitted: (c: CommittedBlock) => void
  logger: Logger
}

/**
 * The one path by which blocks enter the log, whether ordered by our own replica or fetched by
 * block sync: build/validate, execute against the committed state, then write the block, its
 * receipts and its state changes in one atomic batch. Calls are serialized, so consensus and
 * sync can never interleave two writers at one height.
 */
export class BlockPipeline {
  private readonly d: PipelineDeps
  private lock: Promise<unknown> = Promise.resolve()

  constructor (deps: PipelineDeps) {
    this.d = deps
  }

  get tip (): ChainTip {
    return this.d.store.tip(this.d.genesisTip)
  }

  get height (): number {
    return this.d.store.head()?.height ?? 0
  }

  get stateRoot (): Uint8Array {
    return this.d.state.root()
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn)
    this.lock = run.catch(() => undefined)
    return await run
  }

  /** Executes the batch consensus committed at `height`. Idempotent for heights already stored (replay after restart). */
  async executeOrdered (height: number, view: number, proposer: number, timestamp: number, requests: ReadonlyArray<{ id: Uint8Array, bytes: Uint8Array }>): Promise<{ blockHash: Uint8Array, stateRoot: Uint8Array, retryable?: Uint8Array[] }> {
    return await this.serial(async () => {
      const tip = this.tip
      if (height <= tip.height) {
        const stored = await this.d.store.getBlock(height)
        if (stored === null) throw new CorruptionError(`block ${height} is below the head but missing from the store`)
        return { blockHash: stored.hash, stateRoot: stored.stateRoot }
      }
      if (height !== tip.height + 1) {
        throw new ValidationError('ERR_BLOCK_HEIGHT', `consensus asked to execute height ${height} but the head is ${tip.height}`)
      }
      // Timestamps: consensus checked skew; the ledger only requires them not to go backwards.
      const ts = Math.max(timestamp, tip.timestamp)
      const { block, hash } = buildBlock({ prev: tip, view, proposer, timestamp: ts, txs: requests.map(r => r.bytes) })
      const c = await this.run(block, hash, undefined, (i) => this.d.decoded(requests[i]!.id, requests[i]!.bytes))
      // Consensus deduplicates executed ids; these may apply later, so it must forget them.
      const retryable = c.receipts.filter(r => outcomeOf(r.status) === 'retryable').map(r => r.txId)
      return { blockHash: c.hash, stateRoot: c.stateRoot, ...(retryable.length > 0 ? { retryable } : {}) }
    })
  }

  /**
   * Applies a block fetched by sync: the certificate must carry 2f+1 genesis validators'
   * signatures over this block's hash, and re-executing it must give the certified stateRoot.
   * Nothing the sending peer says is trusted.
   */
  async applyCertified (block: Block, cert: Certificate): Promise<CommittedBlock | null> {
    return await this.serial(async () => {
      const tip = this.tip
      if (block.header.height <= tip.height) return null
      const hash = validateBlock(block, tip)
      if (cert.height !== block.header.height || !bytesEqual(cert.blockHash, hash)) {
        throw new ValidationError('ERR_SYNC_CERT_MISMATCH', `sync: certificate for height ${cert.height} does not match block ${block.header.height} (${toHex(hash)})`)
      }
      verifyCertificate(this.d.genesis.validators, this.d.genesis.chainId, cert)
      const c = await this.run(block, hash, cert.stateRoot)
      await this.d.store.putCertificate(cert)
      return c
    })
  }

  private async run (block: Block, hash: Uint8Array, expectRoot?: Uint8Array, decoded?: (index: number) => DecodedTx | undefined): Promise<CommittedBlock> {
    const h = block.header
    const t0 = performance.now()
    const result = await executeBlock(this.d.state, { chainId: h.chainId, height: h.height, timestamp: h.timestamp, proposer: h.proposer }, block.txs, {
      isSignatureValid: this.d.isSignatureValid,
      prefetch: async (keys) => { await this.d.state.prefetch(keys) },
      ...(decoded !== undefined ? { decoded } : {})
    })
    const t1 = performance.now()
    const { root, ops } = await this.d.state.prepare(result.writes)
    const t2 = performance.now()
    if (expectRoot !== undefined && !bytesEqual(root, expectRoot)) {
      throw new ValidationError('ERR_SYNC_STATE_ROOT', `sync: executing block ${h.height} gives stateRoot ${toHex(root)}, certificate says ${toHex(expectRoot)}`)
    }
    await this.d.store.commitBlock({ block, receipts: result.receipts, stateOps: ops, stateRoot: root })
    this.d.state.commitPrepared(root)
    const t3 = performance.now()
    const timings = { executeMs: t1 - t0, stateMs: t2 - t1, writeMs: t3 - t2 }
    if (t3 - t0 >= SLOW_BLOCK_MS) {
      this.d.logger.warn({ height: h.height, txs: block.txs.length, ...roundAll(timings) }, 'slow block')
    }
    const c = { block, hash, stateRoot: root, receipts: result.receipts, timings }
    this.d.onCommitted(c)
    return c
  }
}

function roundAll (t: BlockTimings): BlockTimings {
  return { executeMs: Math.round(t.executeMs), stateMs: Math.round(t.stateMs), writeMs: Math.round(t.writeMs) }
}
