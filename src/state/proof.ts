import { sha256 } from '@noble/hashes/sha2.js'
import type { StateProof } from './api.js'

/**
 * Light-client check of a StateProof against a certified state root. Portable on purpose:
 * only @noble/hashes sha256, no node: imports and no storage, so it runs in a browser or a
 * light client. Handles inclusion (value != null) and non-inclusion (value == null) with the
 * tree rules of merkle.ts. Never throws: malformed proofs are simply false.
 */
const enc = new TextEncoder()
const LEAF_PREFIX = enc.encode('bft-ledger/smt-leaf\0')
const NODE_PREFIX = enc.encode('bft-ledger/smt-node\0')
const ZERO = new Uint8Array(32)

function concatHash (...parts: Uint8Array[]): Uint8Array {
  const h = sha256.create()
  for (const p of parts) h.update(p)
  return h.digest()
}

function eq (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}

function bitAt (path: Uint8Array, depth: number): number {
  return (path[depth >> 3]! >> (7 - (depth & 7))) & 1
}

function isBytes (v: unknown, len?: number): v is Uint8Array {
  return v instanceof Uint8Array && (len === undefined || v.length === len)
}

export function verifyStateProof (root: Uint8Array, proof: StateProof): boolean {
  try {
    if (!isBytes(root, 32) || typeof proof !== 'object' || proof === null) return false
    const { key, value } = proof
    const body = proof.proof as { siblings?: unknown, other?: unknown } | null
    if (!isBytes(key) || !(value === null || isBytes(value))) return false
    if (typeof body !== 'object' || body === null || !Array.isArray(body.siblings) || body.siblings.length > 256) return false
    const siblings = body.siblings as unknown[]
    if (!siblings.every(s => isBytes(s) && (s.length === 0 || s.length === 32))) return false
    const keyHash = sha256(key)
    const depth = siblings.length
    let node: Uint8Array
    if (value !== null) {
      if (body.other !== null && body.other !== undefined) return false
      node = concatHash(LEAF_PREFIX, keyHash, sha256(value))
    } else if (body.other === null || body.other === undefined) {
      node = ZERO
    } else {
      const other = body.other as { keyHash?: unknown, valueHash?: unknown }
      if (!isBytes(other.keyHash, 32) || !isBytes(other.valueHash, 32) || eq(other.keyHash, keyHash)) return false
      // The other leaf must sit in the slot the key's path leads to, i.e. share its first `depth` bits.
      for (let i = 0; i < depth; i++) if (bitAt(other.keyHash, i) !== bitAt(keyHash, i)) return false
      node = concatHash(LEAF_PREFIX, other.keyHash, other.valueHash)
    }
    for (let i = depth - 1; i >= 0; i--) {
      const s = siblings[i] as Uint8Array
      const sib = s.length === 0 ? ZERO : s
      node = bitAt(keyHash, i) === 0 ? concatHash(NODE_PREFIX, node, sib) : concatHash(NODE_PREFIX, sib, node)
    }
    return eq(node, root)
  } catch {
    return false
  }
}
