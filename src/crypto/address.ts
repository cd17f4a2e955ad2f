import { toHex, toLatin1 } from '../codec/hex.js'
import { taggedHash } from './hash.js'

export const ADDRESS_BYTES = 20

/**
 * Addresses of recently seen public keys. Every node derives the sender's address each time
 * it decodes a tx (a hash, a new off-heap buffer and a hex string), and a busy chain has far
 * fewer senders than txs. Keyed by the key's bytes as latin1 (one char per byte). Bounded: at
 * the limit it starts over, which costs one hash per key again.
 */
const cache = new Map<string, string>()
const CACHE_LIMIT = 8192

/** An account address: the first 20 bytes of a tagged hash of the ed25519 public key, as 40 hex chars. */
export function address (publicKey: Uint8Array): string {
  const k = toLatin1(publicKey)
  let a = cache.get(k)
  if (a === undefined) {
    a = toHex(taggedHash('bft-ledger/address', publicKey)).slice(0, 2 * ADDRESS_BYTES)
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(k, a)
  }
  return a
}

const ADDRESS_RE = /^[0-9a-f]{40}$/

export function isAddress (s: unknown): s is string {
  return typeof s === 'string' && s.length === 40 && ADDRESS_RE.test(s)
}
