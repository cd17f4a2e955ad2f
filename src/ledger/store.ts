import type { Logger } from 'pino'
import { bytesEqual, toHex } from '../codec/index.js'
import { BftError, ConfigError, CorruptionError, ValidationError, errorMessage } from '../errors.js'
import { silentLogger } from '../log.js'
import { outcomeOf, type BatchOp, type LevelDb, type Receipt, type Sublevel } from '../state/api.js'
import { blockHash, type Block, type ChainTip } from './block.js'
import { certificateCodec, type Certificate } from './certificate.js'
import { binarySublevel, heightFromKey, heightKey, writeBatch } from './db.js'
import { Wal } from './wal.js'
import { headCodec, receiptsCodec, receiptsHashOfBytes, recordChecksum, storedRecordCodec, txLocationCodec, type Head, type StoredRecord } from './records.js'

export interface StoredBlock extends StoredRecord {
  height: number
}

export interface CommitInput {
  block: Block
  receipts: Receipt[]
  /** The state/ batch (StateStore.prepare(writes).ops), already bound to state's sublevels. */
  stateOps: BatchOp[]
  stateRoot: Uint8Array
}

export interface TxLocation {
  height: number
  index: number
  receipt: Receipt
}

export interface BlockStoreOptions {
  log?: Logger
  /** fsync every block commit (default true). Tests may turn it off; a SIGKILL loses nothing either way. */
  sync?: boolean
}

const HEAD_KEY = new TextEncoder().encode('head')
const GENESIS_KEY = new TextEncoder().encode('genesis')

/**
 * The block log on the node's LevelDB. A block, its receipts, its tx index entries, its state
 * changes and the new head go into ONE db.batch: after a crash the db holds either all of
 * block h or none of it, never a block without its state.
 *
 * The certificate of h is written later and on its own (putCertificate): it exists only after
 * 2f+1 validators have executed h, which includes this replica committing h first. Waiting for
 * it inside commitBlock would stall execution on the network; a crash between the two leaves a
 * block without a certificate, which is the normal state of the newest blocks anyway and is
 * repaired by receiving the checkpoints again or by block sync.
 */
export class BlockStore {
  readonly db: LevelDb
  readonly blocks: Sublevel
  readonly blockHashes: Sublevel
  readonly txIndex: Sublevel
  readonly receipts: Sublevel
  readonly certs: Sublevel
  readonly walLevel: Sublevel
  readonly meta: Sublevel
  private readonly log: Logger
  private readonly sync: boolean
  private cachedHead: Head | null = null
  private queue: Promise<unknown> = Promise.resolve()

  private constructor (db: LevelDb, opts: BlockStoreOptions) {
    this.db = db
    this.blocks = binarySublevel(db, 'blocks')
    this.blockHashes = binarySublevel(db, 'blockhash')
    this.txIndex = binarySublevel(db, 'txindex')
    this.receipts = binarySublevel(db, 'receipts')
    this.certs = binarySublevel(db, 'certs')
    this.walLevel = binarySublevel(db, 'wal')
    this.meta = binarySublevel(db, 'meta')
    this.log = opts.log ?? silentLogger
    this.sync = opts.sync ?? true
  }

  static async open (db: LevelDb, opts: BlockStoreOptions = {}): Promise<BlockStore> {
    const store = new BlockStore(db, opts)
    const raw = await store.meta.get(HEAD_KEY)
    if (raw !== undefined) {
      try {
        store.cachedHead = headCodec.decode(raw)
      } catch (err) {
        throw new CorruptionError(`meta/head: undecodable record (${errorMessage(err)})`)
      }
    }
    return store
  }

  /**
   * Binds the db to one genesis: the first call records its hash, later calls must match, so a
   * data directory is never reused with another chain's genesis.
   */
  async checkGenesis (genesisHash: Uint8Array): Promise<void> {
    const stored = await this.meta.get(GENESIS_KEY)
    if (stored === undefined) {
      await this.meta.put(GENESIS_KEY, genesisHash)
      return
    }
    if (!bytesEqual(stored, genesisHash)) {
      throw new ConfigError(`this data directory belongs to genesis ${toHex(stored)}, not ${toHex(genesisHash)}`)
    }
  }

  /** The consensus write-ahead log on this db's `wal` sublevel. */
  async openWal (): Promise<Wal> {
    return await Wal.open(this.walLevel)
  }

  /** The newest committed block, or null before height 1. */
  head (): Head | null {
    return this.cachedHead
  }

  /** Tip to validate the next block against; `genesis` is the tip at height 0. */
  tip (genesis: ChainTip): ChainTip {
    const h = this.cachedHead
    return h === null ? genesis : { chainId: h.chainId, height: h.height, hash: h.hash, timestamp: h.timestamp }
  }

  /** Commits the next block atomically (see class comment). Calls are serialized. */
  async commitBlock (input: CommitInput): Promise<Head> {
    const run = this.queue.then(async () => await this.commitNow(input))
    this.queue = run.catch(() => undefined)
    return await run
  }

  private async commitNow ({ block, receipts, stateOps, stateRoot }: CommitInput): Promise<Head> {
    const header = block.header
    const height = header.height
    const head = this.cachedHead
    const expected = head === null ? 1 : head.height + 1
    if (height !== expected) {
      throw new ValidationError('ERR_BLOCK_HEIGHT', `cannot commit block ${height}: the next height is ${expected}`, { height })
    }
    if (head !== null && !bytesEqual(header.prevHash, head.hash)) {
      throw new ValidationError('ERR_BLOCK_PREV_HASH', `cannot commit block ${height}: prevHash does not match the stored head`, { height })
    }
    if (receipts.length !== block.txs.length) {
      throw new ValidationError('ERR_RECEIPTS', `cannot commit block ${height}: ${receipts.length} receipts for ${block.txs.length} txs`, { height })
    }
    const hash = blockHash(header)
    let recordBytes: Uint8Array
    let receiptBytes: Uint8Array
    let rHash: Uint8Array
    try {
      // encode() checks the schema itself; a separate validate() walked every receipt twice.
      receiptBytes = receiptsCodec.encode(receipts)
      rHash = receiptsHashOfBytes(receiptBytes)
      const record = { hash, block, stateRoot, receiptsHash: rHash, checksum: recordChecksum(hash, stateRoot, rHash) }
      recordBytes = storedRecordCodec.encode(record)
    } catch (err) {
      if (err instanceof BftError) throw new ValidationError('ERR_BLOCK_ENCODE', `cannot commit block ${height}: ${err.message}`, { height })
      throw err
    }
    const key = heightKey(height)
    const newHead: Head = { chainId: header.chainId, height, hash, stateRoot, timestamp: header.timestamp }

    // The tx index points at the receipt that applied a tx, or, for a tx never applied, at its
    // first final refusal; a repeat (a replayed tx that failed its nonce check) still has its
    // receipt in its own block's receipts. Only final refusals need to read the index (a
    // retryable one is never indexed): a tx applies at most once (its nonce), so an applied
    // receipt can only replace a refusal (say ERR_DUPLICATE_TX beside a nonce gap) and never
    // needs the read. Under load every receipt is usually applied, and the read was one more
    // wait on LevelDB in each block's critical path (10-13 ms of wall time at 1,250 tx/s,
    // docs/performance.md, fourteenth session).
    const ids = receipts.map(r => r.txId)
    const outcomes = receipts.map(r => outcomeOf(r.status))
    const refused = ids.filter((_, i) => outcomes[i] === 'refused')
    const indexed = refused.length === 0 ? [] : await this.txIndex.getMany(refused)
    const alreadyIndexed = new Set<string>()
    refused.forEach((id, i) => { if (indexed[i] !== undefined) alreadyIndexed.add(toHex(id)) })
    const seen = new Set<string>()
    const ops: BatchOp[] = [
      { type: 'put', sublevel: this.blocks, key, value: recordBytes },
      { type: 'put', sublevel: this.blockHashes, key: hash, value: key },
      { type: 'put', sublevel: this.receipts, key, value: receiptBytes }
    ]
    ids.forEach((id, index) => {
      const hex = toHex(id)
      if (alreadyIndexed.has(hex) || seen.has(hex)) return
      // Not final: the same tx may commit later (it keeps its receipt in this block's receipts).
      if (outcomes[index] === 'retryable') return
      seen.add(hex)
      ops.push({ type: 'put', sublevel: this.txIndex, key: id, value: txLocationCodec.encode({ height, index }) })
    })
    ops.push(...stateOps)
    ops.push({ type: 'put', sublevel: this.meta, key: HEAD_KEY, value: headCodec.encode(newHead) })
    await writeBatch(this.db, ops, this.sync)
    this.cachedHead = newHead
    this.log.debug({ height, txs: block.txs.length, hash: toHex(hash) }, 'block committed')
    return newHead
  }

  /**
   * Stores the certificate of a committed block in its own write. The certificate must name the
   * block and state root this replica committed at that height: anything else means this
   * replica diverged from 2f+1 others, which is reported, never stored.
   */
  async putCertificate (cert: Certificate): Promise<void> {
    certificateCodec.validate(cert)
    // Usually the block just committed: its hash and root are in memory, no read and decode of
    // the whole stored block (one per block, a few % of a validator's time at 18 blocks/s).
    const head = this.cachedHead
    const stored = head !== null && head.height === cert.height ? head : await this.getBlock(cert.height)
    if (stored === null) {
      throw new ValidationError('ERR_CERT_NO_BLOCK', `certificate for height ${cert.height}: no such block stored`, { height: cert.height })
    }
    if (!bytesEqual(stored.hash, cert.blockHash) || !bytesEqual(stored.stateRoot, cert.stateRoot)) {
      throw new ValidationError('ERR_CERT_MISMATCH',
        `certificate for height ${cert.height} names block ${toHex(cert.blockHash)} / state ${toHex(cert.stateRoot)}, but this node committed ${toHex(stored.hash)} / ${toHex(stored.stateRoot)}`,
        { height: cert.height })
    }
    await this.certs.put(heightKey(cert.height), certificateCodec.encode(cert))
  }

  async getBlock (height: number): Promise<StoredBlock | null> {
    if (!Number.isSafeInteger(height) || height < 1) return null
    const raw = await this.blocks.get(heightKey(height))
    if (raw === undefined) return null
    return { height, ...decodeRecord(height, raw) }
  }

  async getBlockByHash (hash: Uint8Array): Promise<StoredBlock | null> {
    const key = await this.blockHashes.get(hash)
    if (key === undefined) return null
    return await this.getBlock(heightFromKey(key))
  }

  async getReceipts (height: number): Promise<Receipt[] | null> {
    if (!Number.isSafeInteger(height) || height < 1) return null
    const raw = await this.receipts.get(heightKey(height))
    if (raw === undefined) return null
    try {
      return receiptsCodec.decode(raw) as Receipt[]
    } catch (err) {
      throw new CorruptionError(`block ${height}: undecodable receipts (${errorMessage(err)})`, { height })
    }
  }

  /** The stored canonical receipts bytes of a block (what receiptsHash is computed over). */
  async getReceiptsBytes (height: number): Promise<Uint8Array | null> {
    if (!Number.isSafeInteger(height) || height < 1) return null
    return (await this.receipts.get(heightKey(height))) ?? null
  }

  async getReceipt (txId: Uint8Array): Promise<TxLocation | null> {
    const raw = await this.txIndex.get(txId)
    if (raw === undefined) return null
    let loc: { height: number, index: number }
    try {
      loc = txLocationCodec.decode(raw)
    } catch (err) {
      throw new CorruptionError(`tx index entry for ${toHex(txId)} is undecodable (${errorMessage(err)})`)
    }
    const receipts = await this.getReceipts(loc.height)
    const receipt = receipts?.[loc.index]
    if (receipt === undefined) throw new CorruptionError(`tx index points ${toHex(txId)} at block ${loc.height} index ${loc.index}, which has no such receipt`, { height: loc.height })
    return { height: loc.height, index: loc.index, receipt }
  }

  async getCertificate (height: number): Promise<Certificate | null> {
    if (!Number.isSafeInteger(height) || height < 1) return null
    const raw = await this.certs.get(heightKey(height))
    if (raw === undefined) return null
    try {
      return certificateCodec.decode(raw)
    } catch (err) {
      throw new CorruptionError(`block ${height}: undecodable certificate (${errorMessage(err)})`, { height })
    }
  }

  /** Stored blocks from `from` upward in height order, as stored (decoded, not re-verified). */
  async * iterate (from = 1): AsyncGenerator<StoredBlock> {
    for await (const [key, value] of this.blocks.iterator({ gte: heightKey(Math.max(1, from)) })) {
      const height = heightFromKey(key)
      if (height < 1) throw new CorruptionError(`blocks: malformed key ${toHex(key)}`)
      yield { height, ...decodeRecord(height, value) }
    }
  }
}

function decodeRecord (height: number, raw: Uint8Array): StoredRecord {
  let rec: StoredRecord
  try {
    rec = storedRecordCodec.decode(raw)
  } catch (err) {
    throw new CorruptionError(`block ${height}: undecodable record (${errorMessage(err)}; log corrupted or tampered)`, { height })
  }
  if (!bytesEqual(rec.checksum, recordChecksum(rec.hash, rec.stateRoot, rec.receiptsHash))) {
    throw new CorruptionError(`block ${height}: stored record checksum mismatch (hash, stateRoot or receipts hash damaged; log corrupted or tampered)`, { height })
  }
  return rec
}
