import { bytesEqual, toHex } from '../codec/index.js'
import { BftError, CorruptionError, errorMessage } from '../errors.js'
import { blockHash, validateBlock, tipOf, type ChainTip } from './block.js'
import { verifyCertificate } from './certificate.js'
import { heightFromKey } from './db.js'
import { genesisTip, type Genesis } from './genesis.js'
import { receiptsHashOfBytes } from './records.js'
import type { BlockStore } from './store.js'

export interface VerifyChainOptions {
  /** Check certificate signatures against the genesis validators (default true). */
  signatures?: boolean
  /** When given (state's txId), each receipt must name the id of the tx at its index. */
  txId?: (txBytes: Uint8Array) => Uint8Array
  /**
   * state/'s committed root (StateStore.root()). State ops are in the head block's batch, so
   * they must agree; 32 zero bytes or the genesis-state root are accepted before block 1.
   */
  committedStateRoot?: Uint8Array
}

export interface VerifiedChain {
  height: number
  tip: ChainTip
  stateRoot: Uint8Array | null
  certified: number
}

/**
 * The start-time check: walks every stored block from height 1 and re-derives what can be
 * re-derived (hash, prevHash linkage to genesis, txRoot, timestamps, receipts hash, hash index,
 * certificate agreement and signatures, head pointer). Any mismatch or undecodable record is a
 * CorruptionError naming the height: the node must not serve or extend a log it cannot trust.
 */
export async function verifyStoredChain (store: BlockStore, genesis: Genesis, opts: VerifyChainOptions = {}): Promise<VerifiedChain> {
  const checkSigs = opts.signatures ?? true
  let tip = genesisTip(genesis)
  let stateRoot: Uint8Array | null = null
  let certified = 0
  const corrupt = (height: number, msg: string): never => {
    throw new CorruptionError(`block ${height}: ${msg} (log corrupted or tampered)`, { height })
  }
  for await (const rec of store.iterate(1)) {
    const h = rec.height
    if (h !== tip.height + 1) corrupt(tip.height + 1, `missing (next stored block is ${h})`)
    if (rec.block.header.height !== h) corrupt(h, `stored under height ${h} but its header says ${rec.block.header.height}`)
    if (!bytesEqual(blockHash(rec.block.header), rec.hash)) corrupt(h, 'stored hash mismatch')
    try {
      validateBlock(rec.block, tip)
    } catch (err) {
      if (err instanceof BftError) corrupt(h, err.message.replace(/^block \d+: /, ''))
      throw err
    }
    const indexed = await store.blockHashes.get(rec.hash)
    if (indexed === undefined || heightFromKey(indexed) !== h) corrupt(h, 'hash index does not point at this block')
    const receiptBytes = await store.getReceiptsBytes(h)
    if (receiptBytes === null) corrupt(h, 'receipts missing')
    // The hash over the stored bytes is enough: commitBlock checked one receipt per tx.
    else if (!bytesEqual(receiptsHashOfBytes(receiptBytes), rec.receiptsHash)) corrupt(h, 'receipts do not match the stored receipts hash')
    else if (opts.txId !== undefined) {
      const receipts = (await store.getReceipts(h))!
      if (receipts.length !== rec.block.txs.length) corrupt(h, `${receipts.length} receipts for ${rec.block.txs.length} txs`)
      const txId = opts.txId
      rec.block.txs.forEach((tx, i) => {
        if (!bytesEqual(txId(tx), receipts[i]!.txId)) corrupt(h, `receipt ${i} names tx ${toHex(receipts[i]!.txId)}, not the tx at index ${i}`)
      })
    }
    const cert = await store.getCertificate(h)
    if (cert !== null) {
      if (!bytesEqual(cert.blockHash, rec.hash)) corrupt(h, 'certificate names a different block hash')
      if (!bytesEqual(cert.stateRoot, rec.stateRoot)) corrupt(h, `stored stateRoot ${toHex(rec.stateRoot)} differs from the certified ${toHex(cert.stateRoot)}`)
      if (checkSigs) {
        try {
          verifyCertificate(genesis.validators, genesis.chainId, cert)
        } catch (err) {
          corrupt(h, `certificate does not verify: ${errorMessage(err)}`)
        }
      }
      certified++
    }
    tip = tipOf(rec.block, rec.hash)
    stateRoot = rec.stateRoot
  }
  const head = store.head()
  if (head === null && tip.height > 0) corrupt(tip.height, 'blocks stored but no head pointer')
  if (head !== null && (head.height !== tip.height || !bytesEqual(head.hash, tip.hash))) {
    corrupt(head.height, `head pointer says height ${head.height} ${toHex(head.hash)}, the stored chain ends at ${tip.height}`)
  }
  if (opts.committedStateRoot !== undefined && stateRoot !== null && !bytesEqual(opts.committedStateRoot, stateRoot)) {
    corrupt(tip.height, `state store root ${toHex(opts.committedStateRoot)} is not the stored stateRoot ${toHex(stateRoot)} of the head block: the state database is damaged; restore the data directory or re-create this validator from its peers`)
  }
  return { height: tip.height, tip, stateRoot, certified }
}
