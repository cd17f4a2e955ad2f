import { sha256 } from '@noble/hashes/sha2.js'
import type { StateProof } from './api.js'

/**
 * Light-client check of a StateProof against a certified state root. Portable on purpose:
 * only @noble/hashes sha256, no node: imports and no storage, so it runs in a browser or a
 * light client. Handles inclusion (value != null) and non-inclusion (value == null) with the
 * tree rules of merkle.ts. Never throws: malformed proofs are simply false.
 */
const enc = new TextEncoder()
const LEAF_PREFIX = enc.encode('bft-ledger/smt16-leaf\0')
const NODE_PREFIX = enc.encode('bft-ledger/smt16-node\0')
const ZERO = new Uint8Array(32)
const ARITY = 16
/** Sibling hashes a proof carries per level: the 16 children minus the one on the key's path. */
const PER_LEVEL = ARITY - 1

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

function nibbleAt (path: Uint8Array, depth: number): number {
  const b = path[depth >> 1]!
  return (depth & 1) === 0 ? b >> 4 : b & 0x0f
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
    if (typeof body !== 'object' || body === null || !Array.isArray(body.siblings)) return false
    const siblings = body.siblings as unknown[]
    if (siblings.length % PER_LEVEL !== 0 || siblings.length > 64 * PER_LEVEL) return false
    if (!siblings.every(s => isBytes(s) && (s.length === 0 || s.length === 32))) return false
    const keyHash = sha256(key)
    const depth = siblings.length / PER_LEVEL
    let node: Uint8Array
    if (value !== null) {
      if (body.other !== null && body.other !== undefined) return false
      node = concatHash(LEAF_PREFIX, keyHash, sha256(value))
    } else if (body.other === null || body.other === undefined) {
      node = ZERO
    } else {
      const other = body.other as { keyHash?: unknown, valueHash?: unknown }
      if (!isBytes(other.keyHash, 32) || !isBytes(other.valueHash, 32) || eq(other.keyHash, keyHash)) return false
      // The other leaf must sit in the slot the key's path leads to, i.e. share its first `depth` nibbles.
      for (let i = 0; i < depth; i++) if (nibbleAt(other.keyHash, i) !== nibbleAt(keyHash, i)) return false
      node = concatHash(LEAF_PREFIX, other.keyHash, other.valueHash)
    }
    for (let d = depth - 1; d >= 0; d--) {
      const nib = nibbleAt(keyHash, d)
      const parts: Uint8Array[] = [NODE_PREFIX]
      let k = d * PER_LEVEL
      for (let i = 0; i < ARITY; i++) {
        if (i === nib) { parts.push(node); continue }
        const s = siblings[k++] as Uint8Array
        parts.push(s.length === 0 ? ZERO : s)
      }
      node = concatHash(...parts)
    }
    return eq(node, root)
  } catch {
    return false
  }
}
