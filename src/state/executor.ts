import { isAddress, taggedHash } from '../crypto/index.js'
import { BftError, errorMessage } from '../errors.js'
import { readAccountRecord, writeAccount } from './account.js'
import { accountKey } from './keys.js'
import type { BlockContext, ExecutionResult, Receipt } from './api.js'
export { RETRYABLE_CODES, UNAPPLIED_CODES, outcomeOf, type ReceiptOutcome } from './api.js'
import { dispatch } from './contracts/index.js'
import { TxFailure, type CallEnv } from './contracts/types.js'
import { Overlay, StateReadError, type StateReader } from './overlay.js'
import { checkCall, decodeTx, verifyTxSignature, type DecodedTx } from './tx.js'

export interface ExecuteOptions {
  /** Cached signature result by txId (hex), e.g. from mempool admission. Default: verify now. */
  isSignatureValid?: (txId: string, tx: DecodedTx) => boolean
  /** The already decoded form of txs[index] (e.g. held by the mempool), or undefined to decode it here. */
  decoded?: (index: number) => DecodedTx | undefined
  /**
   * Called once before the first tx with the state keys the block will read for certain
   * (senders' accounts, transfer recipients), so a store can load them in one batch. A hint:
   * execution reads every key through `reader` as usual.
   */
  prefetch?: (keys: Uint8Array[]) => Promise<void>
}

/** Receipt ids of undecodable bytes use their own tag so they can never equal a real txId. */
const MALFORMED_TAG = 'bft-ledger/malformed-tx'

function failed (txId: Uint8Array, code: string, error: string, result: unknown = null): Receipt {
  return { txId, status: code, error, result, events: [] }
}

/**
 * Executes a block's transactions in order against `reader` (the committed state) and returns
 * one receipt per transaction plus the block's net writes. Deterministic: contracts see only
 * state, the tx and `ctx`. A failing tx changes nothing, except that a tx with a valid
 * signature and the expected nonce consumes its nonce (so it cannot be replayed). Only a
 * failure of `reader` itself throws (StateReadError): then the block cannot be executed here.
 */
export async function executeBlock (reader: StateReader, ctx: BlockContext, txs: Uint8Array[], opts: ExecuteOptions = {}): Promise<ExecutionResult> {
  const block = new Overlay(reader)
  const receipts: Receipt[] = []
  const seen = new Set<string>()
  const decoded: Array<DecodedTx | Error> = txs.map((bytes, i) => {
    try {
      return opts.decoded?.(i) ?? decodeTx(bytes)
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err))
    }
  })
  if (opts.prefetch !== undefined) {
    try {
      await opts.prefetch(readSet(decoded))
    } catch (err) {
      throw new StateReadError(err)
    }
  }
  for (let i = 0; i < txs.length; i++) {
    receipts.push(await executeTx(block, ctx, txs[i]!, decoded[i]!, seen, opts))
  }
  return { receipts, writes: block.writes() }
}

/** Keys a block reads for certain: every sender's account, and the recipient of a plain transfer. */
function readSet (txs: ReadonlyArray<DecodedTx | Error>): Uint8Array[] {
  const keys: Uint8Array[] = []
  for (const tx of txs) {
    if (tx instanceof Error) continue
    keys.push(accountKey(tx.sender))
    const args = tx.body.args as { to?: unknown } | null
    if (tx.body.contract === 'bank' && tx.body.method === 'transfer' && typeof args === 'object' && args !== null && typeof args.to === 'string' && isAddress(args.to)) {
      keys.push(accountKey(args.to))
    }
  }
  return keys
}

async function executeTx (block: Overlay, ctx: BlockContext, bytes: Uint8Array, decoded: DecodedTx | Error, seen: Set<string>, opts: ExecuteOptions): Promise<Receipt> {
  if (decoded instanceof Error) {
    const code = decoded instanceof BftError ? decoded.code : 'ERR_TX_MALFORMED'
    return failed(taggedHash(MALFORMED_TAG, bytes instanceof Uint8Array ? bytes : new Uint8Array()), code, errorMessage(decoded))
  }
  const tx = decoded
  if (seen.has(tx.idHex)) return failed(tx.id, 'ERR_DUPLICATE_TX', `transaction ${tx.idHex} already appears earlier in this block`)
  seen.add(tx.idHex)
  if (tx.body.chainId !== ctx.chainId) {
    return failed(tx.id, 'ERR_WRONG_CHAIN', `transaction is for chain "${tx.body.chainId}", this is "${ctx.chainId}"`)
  }
  const sigOk = opts.isSignatureValid !== undefined ? opts.isSignatureValid(tx.idHex, tx) : verifyTxSignature(tx)
  if (!sigOk) return failed(tx.id, 'ERR_BAD_SIGNATURE', `invalid signature for sender ${tx.sender}`)

  const account = await readAccountRecord(block, tx.sender)
  const expected = account.nonce
  if (tx.body.nonce < expected) {
    return failed(tx.id, 'ERR_STALE_NONCE', `nonce ${tx.body.nonce} of ${tx.sender} is already used (next is ${expected}): replay refused`)
  }
  if (tx.body.nonce > expected) {
    return failed(tx.id, 'ERR_NONCE_GAP', `nonce ${tx.body.nonce} of ${tx.sender} is ahead of the next expected nonce ${expected}`)
  }
  // From here the tx is authorized and in order: it consumes its nonce whatever happens next.
  writeAccount(block, tx.sender, { ...account, nonce: expected + 1 })

  try {
    checkCall(tx.body.contract, tx.body.method, tx.body.args, 'args')
  } catch (err) {
    const failedCall = err instanceof BftError ? err.details?.failedCall : undefined
    return failed(tx.id, err instanceof BftError ? err.code : 'ERR_BAD_ARGS', errorMessage(err), typeof failedCall === 'number' ? { failedCall } : null)
  }

  const overlay = block.child()
  const events: Array<{ type: string, data: unknown }> = []
  const env: CallEnv = {
    ctx,
    sender: tx.sender,
    txId: tx.idHex,
    state: overlay,
    emit: (type, data) => { events.push({ type, data }) }
  }
  try {
    const result = await dispatch(env, tx.body.contract, tx.body.method, tx.body.args)
    overlay.mergeIntoParent()
    return { txId: tx.id, status: 'ok', error: '', result: result ?? null, events }
  } catch (err) {
    if (err instanceof TxFailure) {
      const failedCall = err.details?.failedCall
      return failed(tx.id, err.code, err.message, typeof failedCall === 'number' ? { failedCall } : null)
    }
    // A bug or corrupt stored record in a contract fails this tx the same way on every node
    // (same code, same state); a store failure is not deterministic and must stop the block.
    if (err instanceof StateReadError) throw err
    if (err instanceof BftError) return failed(tx.id, err.code, err.message)
    return failed(tx.id, 'ERR_INTERNAL', `contract error: ${errorMessage(err)}`)
  }
}
