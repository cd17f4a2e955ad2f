import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toHex, utf8 } from '../../src/codec/index.js'
import { keyPairFromSeed, sha256, sign, type KeyPair } from '../../src/crypto/index.js'
import { checkpointSignBytes } from '../../src/consensus/types.js'
import type { BatchOp, Receipt } from '../../src/state/api.js'
import { StateStore } from '../../src/state/store.js'
import { executeBlock } from '../../src/state/executor.js'
import { readNonce } from '../../src/state/account.js'
import { address, createTx } from '../../src/state/tx.js'
import { genesisWrites } from '../../src/state/contracts/bank.js'
import { buildBlock, type Block } from '../../src/ledger/block.js'
import type { Certificate } from '../../src/ledger/certificate.js'
import { DEFAULT_PARAMS, genesisHash, genesisTip, parseGenesis, peerIdOfKey, type Genesis, type GenesisFile } from '../../src/ledger/genesis.js'
import { BlockStore } from '../../src/ledger/store.js'
import { openLedgerDb } from '../../src/ledger/db.js'
import type { LevelDb } from '../../src/state/api.js'
import type { Head } from '../../src/ledger/records.js'
import { rng } from '../support/seeded.js'
export { rng }


export function testSeed (): number {
  const env = process.env.TEST_SEED
  return env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31)
}

export function tempDir (name: string): { path: string, cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `bft-${name}-`))
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) }
}

export const validatorKey = (i: number): KeyPair => keyPairFromSeed(sha256(utf8(`test/validator/${i}`)))
export const clientKey = (i: number): KeyPair => keyPairFromSeed(sha256(utf8(`test/client/${i}`)))

export function genesisJson (n = 4, clients = 4, chainId = 'ledger-test'): GenesisFile {
  return {
    chainId,
    genesisTime: 1_700_000_000_000,
    validators: Array.from({ length: n }, (_, i) => {
      const k = validatorKey(i)
      return { name: `v${i}`, publicKey: toHex(k.publicKey), peerId: peerIdOfKey(k.publicKey) }
    }),
    balances: Array.from({ length: clients }, (_, i) => ({ address: address(clientKey(i).publicKey), amount: '1000000000' })),
    params: { ...DEFAULT_PARAMS }
  }
}

export function makeGenesis (n = 4, clients = 4): Genesis {
  return parseGenesis(genesisJson(n, clients))
}

/** A certificate signed by the given validator indices. */
export function certify (g: Genesis, height: number, blockHash: Uint8Array, stateRoot: Uint8Array, signers: number[]): Certificate {
  const msg = checkpointSignBytes(g.chainId, height, blockHash, stateRoot)
  return { height, blockHash, stateRoot, signatures: signers.map(i => ({ validator: i, signature: sign(msg, validatorKey(i).secretKey) })) }
}

export interface NextBlock {
  block: Block
  hash: Uint8Array
  receipts: Receipt[]
  stateOps: BatchOp[]
  stateRoot: Uint8Array
}

/**
 * Builds and commits blocks on a store with real signed transfers, executed by state/'s
 * executor against state/'s StateStore, whose prepared ops go into the block's batch.
 */
export class ChainDriver {
  readonly state: StateStore
  private readonly store: BlockStore
  private readonly genesis: Genesis
  private readonly rand: () => number
  private readonly clients: KeyPair[]

  private constructor (store: BlockStore, state: StateStore, genesis: Genesis, seed: number, clients: number) {
    this.store = store
    this.state = state
    this.genesis = genesis
    this.rand = rng(seed)
    this.clients = Array.from({ length: clients }, (_, i) => clientKey(i))
  }

  /** Opens state on the store's db and applies the genesis balances once (one batch). */
  static async open (store: BlockStore, genesis: Genesis, seed: number, clients: number): Promise<ChainDriver> {
    const state = await StateStore.open(store.db)
    if (store.head() === null && state.root().every(b => b === 0)) {
      const { root, ops } = await state.prepare(genesisWrites(genesis.balances))
      await store.db.batch(ops)
      state.commitPrepared(root)
    }
    return new ChainDriver(store, state, genesis, seed, clients)
  }

  async next (txCount: number): Promise<NextBlock> {
    const tip = this.store.tip(genesisTip(this.genesis))
    const txs: Uint8Array[] = []
    const nonces = new Map<number, number>()
    for (let i = 0; i < txCount; i++) {
      const c = Math.floor(this.rand() * this.clients.length)
      const key = this.clients[c]!
      const from = address(key.publicKey)
      const nonce = nonces.get(c) ?? await readNonce(this.state, from)
      nonces.set(c, nonce + 1)
      const to = address(this.clients[(c + 1) % this.clients.length]!.publicKey)
      txs.push(createTx({ chainId: this.genesis.chainId, sender: key.publicKey, nonce, contract: 'bank', method: 'transfer', args: { to, amount: 1 + Math.floor(this.rand() * 100) } }, key.secretKey))
    }
    return await this.nextWith(txs)
  }

  /** The next block holding exactly `txs`, executed but not committed. */
  async nextWith (txs: Uint8Array[]): Promise<NextBlock> {
    const tip = this.store.tip(genesisTip(this.genesis))
    const timestamp = tip.timestamp + Math.floor(this.rand() * 3)
    const { block, hash } = buildBlock({ prev: tip, view: 0, proposer: tip.height % this.genesis.validators.length, timestamp, txs })
    const ctx = { chainId: this.genesis.chainId, height: block.header.height, timestamp, proposer: block.header.proposer }
    const { receipts, writes } = await executeBlock(this.state, ctx, txs)
    const { root, ops } = await this.state.prepare(writes)
    return { block, hash, receipts, stateOps: ops, stateRoot: root }
  }

  async commit (next: NextBlock): Promise<Head> {
    const head = await this.store.commitBlock(next)
    this.state.commitPrepared(next.stateRoot)
    return head
  }
}

/** A fresh chain for a test: LevelDB at `path`, a BlockStore bound to `genesis` (no fsync), and a ChainDriver over it. */
export async function openChain (path: string, genesis: Genesis, seed: number, clients: number): Promise<{ db: LevelDb, store: BlockStore, driver: ChainDriver }> {
  const db = await openLedgerDb(path)
  const store = await BlockStore.open(db, { sync: false })
  await store.checkGenesis(genesisHash(genesis))
  const driver = await ChainDriver.open(store, genesis, seed, clients)
  return { db, store, driver }
}
