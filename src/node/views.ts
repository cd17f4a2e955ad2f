import { decode, toHex } from '../codec/index.js'
import type { Certificate } from '../ledger/certificate.js'
import type { StoredBlock } from '../ledger/store.js'
import { outcomeOf, txIdHex } from '../state/index.js'
import type { Receipt } from '../state/api.js'
import type { BlockView, ReceiptView } from './service.js'

/** Makes any decoded CBOR value JSON-safe: bytes → hex, bigint → decimal string. */
export function jsonSafe (v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v)
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return v.map(jsonSafe)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x)
    return out
  }
  return v
}

/** Decodes stored state bytes for display; null when they are not canonical CBOR. */
export function tryDecode (bytes: Uint8Array | null | undefined): unknown {
  if (bytes === null || bytes === undefined) return null
  try { return jsonSafe(decode(bytes)) } catch { return null }
}

/**
 * `receipts`: the block's receipts (they name the txs refused for their position only);
 * `txIds`: the ids when the caller already has them (receipts of a just-executed block), to
 * skip re-decoding every tx.
 */
export function blockView (stored: Pick<StoredBlock, 'hash' | 'block' | 'stateRoot'>, cert: Certificate | null, receipts: readonly Receipt[], txIds?: string[]): BlockView {
  const h = stored.block.header
  return {
    height: h.height,
    hash: toHex(stored.hash),
    header: {
      chainId: h.chainId,
      height: h.height,
      prevHash: toHex(h.prevHash),
      txRoot: toHex(h.txRoot),
      view: h.view,
      proposer: h.proposer,
      timestamp: h.timestamp
    },
    txs: stored.block.txs.map(toHex),
    txIds: txIds ?? stored.block.txs.map(t => txIdHex(t)),
    retryable: receipts.filter(r => outcomeOf(r.status) === 'retryable').map(r => toHex(r.txId)),
    refused: receipts.filter(r => outcomeOf(r.status) === 'refused').map(r => toHex(r.txId)),
    stateRoot: toHex(stored.stateRoot),
    certificate: cert === null ? null : { signatures: cert.signatures.map(s => ({ validator: s.validator, signature: toHex(s.signature) })) }
  }
}

export function receiptView (r: Receipt, height: number, index: number): ReceiptView {
  return {
    txId: toHex(r.txId),
    height,
    index,
    status: r.status,
    error: r.error,
    result: jsonSafe(r.result),
    events: r.events.map(e => ({ type: e.type, data: jsonSafe(e.data) }))
  }
}
