import { MemoryLevel } from 'memory-level'
import { toHex, utf8 } from '../../codec/index.js'
import type { ClientRequest } from '../../consensus/types.js'
import { BftError, ValidationError } from '../../errors.js'
import { buildBlock, validateBlock, type Block } from '../../ledger/block.js'
import { binarySublevel } from '../../ledger/db.js'
import { genesisHash, genesisTip, type Genesis } from '../../ledger/genesis.js'
import { BlockStore } from '../../ledger/store.js'
import { Mempool } from '../../mempool/index.js'
import { decodeAccount, decodeTx, genesisWrites, outcomeOf, readNonce, StateStore, type LevelDb, type Receipt, type Sublevel } from '../../state/index.js'
import { batchDigestOfIds, type ExecuteBatch, type ExecutedBlock, type SimApp, type SimMempool } from '../app.js'
import { executorFor, type Executor, type LedgerBug } from './bugs.js'

export function isApplied (r: Receipt): boolean {
  return outcomeOf(r.status) === 'applied'
}

/** What the ledger app records per block on top of ExecutedBlock. */
export interface LedgerBlock extends ExecutedBlock {
  receiptCodes: string[]
  /** Sum of all bank balances in this replica's state right after the block. */
  supply: bigint
}

export interface LedgerAppOptions {
  replica: number
  genesis: Genesis
  bug?: LedgerBug
}

/** Mempool limits of the simulated replicas (small, like the simulator's other parameters). */
const MEMPOOL_SIZE = 10_000
const MEMPOOL_PER_SENDER = 64
const ACCT_PREFIX = utf8('acct/')
const ACCT_END = utf8('acct0') // '0' follows '/': the end of the acct/ key range

/**
 * A simulated replica's full ledger, the same pieces a node wires (src/node/pipeline.ts):
 * a real Mempool in front of consensus, real block building (ledger/block.ts: same header and
 * hash as a node), real execution (state/executeBlock) over a real StateStore (sparse Merkle
 * tree), and BlockStore.commitBlock writing block, receipts, tx index and state in one batch,
 * all on an in-memory LevelDB (memory-level). Everything is async; the cluster awaits one
 * call at a time, so a run stays deterministic. Durable across crashes like the node's db;
 * the mempool is not (reset()).
 */
export class LedgerApp implements SimApp {
  readonly isAsync = true
  private readonly blocks = new Map<number, LedgerBlock>()
  private readonly applied = new Set<string>()
  private readonly execute1: Executor
  private readonly flat: Sublevel
  private pool: SimMempool
  private last: { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array }
  /** Mempool admissions refused, by error code. */
  readonly refused: Record<string, number> = {}

  private constructor (
    private readonly opts: LedgerAppOptions,
    readonly db: LevelDb,
    readonly store: BlockStore,
    readonly state: StateStore
  ) {
    this.execute1 = executorFor(opts.bug, opts.replica)
    this.flat = binarySublevel(db, 'state')
    this.pool = this.newMempool()
    this.last = { seq: 0, blockHash: genesisHash(opts.genesis), stateRoot: state.root() }
  }

  static async open (opts: LedgerAppOptions): Promise<LedgerApp> {
    const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as unknown as LevelDb
    await db.open()
    const store = await BlockStore.open(db, { sync: false })
    await store.checkGenesis(genesisHash(opts.genesis))
    const state = await StateStore.open(db, { maxTreeNodes: 10_000 })
    // Genesis allocation, as LedgerNode.applyGenesisState does it.
    const { root, ops } = await state.prepare(genesisWrites(opts.genesis.balances))
    await db.batch(ops)
    state.commitPrepared(root)
    return new LedgerApp(opts, db, store, state)
  }

  get lastExecuted (): { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array } {
    return this.last
  }

  get mempool (): SimMempool {
    return this.pool
  }

  block (seq: number): LedgerBlock | undefined {
    return this.blocks.get(seq)
  }

  hasApplied (requestId: string): boolean {
    return this.applied.has(requestId)
  }

  /** The replica crashed: its mempool (and verdict cache) is gone; blocks and state are not. */
  reset (): void {
    this.pool = this.newMempool()
  }

  async execute (batch: ExecuteBatch): Promise<LedgerBlock> {
    const tip = this.store.tip(genesisTip(this.opts.genesis))
    if (batch.seq !== tip.height + 1) throw new RangeError(`execute out of order: got seq ${batch.seq}, expected ${tip.height + 1}`)
    // As node/pipeline.ts executeOrdered: the ledger only requires timestamps not to go backwards.
    const timestamp = Math.max(batch.timestamp, tip.timestamp)
    const { block, hash } = buildBlock({ prev: tip, view: batch.view, proposer: batch.proposer, timestamp, txs: batch.requests.map(r => r.bytes) })
    return await this.commit(block, hash, batch.requests.map(r => r.id))
  }

  /**
   * Block sync by re-execution: fetch each block from the source replica's block store, check
   * it against our tip (validateBlock), execute it here and require the source's state root.
   */
  async adoptFrom (source: SimApp, upTo: number): Promise<void> {
    if (!(source instanceof LedgerApp)) throw new TypeError('a ledger replica can only sync from another ledger replica')
    for (let s = this.last.seq + 1; s <= upTo; s++) {
      const stored = await source.store.getBlock(s)
      if (stored === null) throw new RangeError(`sync source lacks block ${s}`)
      const hash = validateBlock(stored.block, this.store.tip(genesisTip(this.opts.genesis)))
      const b = await this.commit(stored.block, hash, stored.block.txs.map(tx => decodeTx(tx).id))
      if (Buffer.compare(b.stateRoot, stored.stateRoot) !== 0) {
        throw new BftError('ERR_SIM_SYNC_DIVERGED', `re-executing synced block ${s} gives state root ${toHex(b.stateRoot).slice(0, 12)}, the source committed ${toHex(stored.stateRoot).slice(0, 12)}`, { seq: s })
      }
    }
  }

  /** Sum of every account balance in the committed state (the whole acct/ key range, not a list of known accounts). */
  async supply (): Promise<bigint> {
    let sum = 0n
    for await (const [, value] of this.flat.iterator({ gte: ACCT_PREFIX, lt: ACCT_END })) sum += decodeAccount(value).balance
    return sum
  }

  private async commit (block: Block, hash: Uint8Array, requestIds: Uint8Array[]): Promise<LedgerBlock> {
    const h = block.header
    const result = await this.execute1(this.state, { chainId: h.chainId, height: h.height, timestamp: h.timestamp, proposer: h.proposer }, block.txs, {
      isSignatureValid: this.pool.isSignatureValid,
      prefetch: async (keys) => { await this.state.prefetch(keys) }
    })
    const { root, ops } = await this.state.prepare(result.writes)
    await this.store.commitBlock({ block, receipts: result.receipts, stateOps: ops, stateRoot: root })
    this.state.commitPrepared(root)

    // As node.onBlockCommitted: drop the block's txs from the mempool and advance the nonces
    // of the senders whose transactions were applied.
    const nonces = new Map<string, number>()
    const appliedIds: string[] = []
    result.receipts.forEach((r, i) => {
      if (!isApplied(r)) return
      appliedIds.push(toHex(r.txId))
      const tx = decodeTx(block.txs[i]!)
      nonces.set(tx.sender, Math.max(nonces.get(tx.sender) ?? 0, tx.body.nonce + 1))
    })
    const retry = result.receipts.filter(r => outcomeOf(r.status) === 'retryable').map(r => r.txId)
    this.pool.committed(result.receipts.filter(r => outcomeOf(r.status) !== 'retryable').map(r => r.txId), nonces, retry)
    for (const id of appliedIds) this.applied.add(id)

    const executed: LedgerBlock = {
      seq: h.height,
      blockHash: hash,
      stateRoot: root,
      batchDigest: batchDigestOfIds(requestIds),
      proposer: h.proposer,
      timestamp: h.timestamp,
      requestIds,
      appliedIds,
      retryable: retry,
      receiptCodes: result.receipts.map(r => r.status),
      supply: await this.supply()
    }
    this.blocks.set(h.height, executed)
    this.last = { seq: h.height, blockHash: hash, stateRoot: root }
    return executed
  }

  private newMempool (): SimMempool {
    const g = this.opts.genesis
    const pool = new Mempool({
      chainId: g.chainId,
      maxTxBytes: g.params.maxTxBytes,
      maxSize: MEMPOOL_SIZE,
      maxPerSender: MEMPOOL_PER_SENDER,
      nonceOf: async (sender) => await readNonce(this.state, sender)
    })
    const refused = this.refused
    // Ids handed to consensus and not committed yet: what a view change hands over again.
    const handed = new Set<string>()
    return {
      async admit (r: ClientRequest): Promise<void> {
        try {
          await pool.add(r.bytes)
        } catch (err) {
          // Refusals are the mempool doing its job (replays, bad signatures, ...): counted, not thrown.
          if (!(err instanceof ValidationError)) throw err
          refused[err.code] = (refused[err.code] ?? 0) + 1
        }
      },
      reap (all: boolean): ClientRequest[] {
        // As node.feedConsensus(all): after a view change everything pending is handed over
        // again. (The node collects the ids to unmark with reap(), which skips proposed txs;
        // here the handed-over ids are tracked so the unmark does what the node intends.)
        if (all) { pool.unmarkProposed(handed); handed.clear() }
        const ready = pool.reap(100_000, 64 * 1024 * 1024)
        pool.markProposed(ready.map(r => r.id))
        for (const r of ready) handed.add(toHex(r.id))
        return ready
      },
      isValid: (r: ClientRequest) => pool.isValid(r.id, r.bytes),
      isSignatureValid: pool.isSignatureValid,
      committed: (ids, nonces, retry) => {
        for (const id of [...ids, ...retry]) handed.delete(toHex(id))
        pool.onCommitted(ids, nonces)
        pool.markRetry(retry)
      }
    }
  }
}
