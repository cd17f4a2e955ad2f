import { ValidationError } from '../errors.js'
import { sha256 } from './hash.js'

/**
 * Binary Merkle tree in the RFC 6962 / RFC 9162 shape: leaf = H(0x00 || d), node = H(0x01 || l || r),
 * the left subtree of n > 1 leaves holds the largest power of two < n leaves, and the empty tree is
 * H(''). The 0x00/0x01 prefixes keep a leaf from ever being passed off as an inner node (second
 * preimage), and the unbalanced split (no duplicated last leaf) avoids the Bitcoin CVE-2012-2459
 * ambiguity where two different lists share a root.
 */

const LEAF_PREFIX = new Uint8Array([0])
const NODE_PREFIX = new Uint8Array([1])

export function merkleLeafHash (leaf: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, leaf)
}

export function merkleNodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right)
}

/** Every level of the tree, leaf hashes first, root last (a one-element level). */
function levelsOf (leaves: Uint8Array[]): Uint8Array[][] {
  // Bottom-up pairing with the odd last node promoted unchanged builds exactly the RFC 6962 tree.
  const levels = [leaves.map(merkleLeafHash)]
  let level = levels[0]!
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(merkleNodeHash(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    levels.push(next)
    level = next
  }
  return levels
}

function proofFrom (levels: Uint8Array[][], count: number, index: number): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new ValidationError('ERR_MERKLE_INDEX', `merkle proof index ${index} is out of range for ${count} leaves`, { index, count })
  }
  const proof: Uint8Array[] = []
  let i = index
  for (let l = 0; l < levels.length - 1; l++) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1
    if (sibling < levels[l]!.length) proof.push(levels[l]![sibling]!)
    i = Math.floor(i / 2)
  }
  return proof
}

/** Root over the leaves' data (each leaf is hashed with the 0x00 prefix first). */
export function merkleRoot (leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256()
  const levels = levelsOf(leaves)
  return levels[levels.length - 1]![0]!
}

/** Audit path (sibling hashes, leaf level first) for leaves[index]; RFC 9162 section 2.1.3.1. */
export function merkleProof (leaves: Uint8Array[], index: number): Uint8Array[] {
  return proofFrom(levelsOf(leaves), leaves.length, index)
}

export interface MerkleTree {
  readonly root: Uint8Array
  readonly count: number
  /** Same as merkleProof(leaves, index), without rehashing the tree. */
  proof: (index: number) => Uint8Array[]
}

/** Builds the tree once, for many proofs over the same leaves (e.g. every tx of a block). */
export function merkleTree (leaves: Uint8Array[]): MerkleTree {
  const count = leaves.length
  if (count === 0) return { root: sha256(), count, proof: (index) => proofFrom([], 0, index) }
  const levels = levelsOf(leaves)
  return { root: levels[levels.length - 1]![0]!, count, proof: (index) => proofFrom(levels, count, index) }
}

/**
 * Checks that `leaf` is leaves[index] of a `count`-leaf tree with this root (RFC 9162 section
 * 2.1.3.2). Never throws: any malformed argument is simply `false`, since proofs come from peers.
 */
export function verifyMerkleProof (root: Uint8Array, leaf: Uint8Array, index: number, count: number, proof: Uint8Array[]): boolean {
  if (!(root instanceof Uint8Array) || root.length !== 32 || !(leaf instanceof Uint8Array) || !Array.isArray(proof)) return false
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(index) || index < 0 || index >= count) return false
  // Bit tricks below need 32-bit-free arithmetic; plain division keeps it exact for any safe integer.
  let fn = index
  let sn = count - 1
  let r = merkleLeafHash(leaf)
  for (const p of proof) {
    if (!(p instanceof Uint8Array) || p.length !== 32) return false
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r)
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2)
        sn = Math.floor(sn / 2)
      }
    } else {
      r = merkleNodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  if (sn !== 0) return false
  let diff = 0
  for (let i = 0; i < 32; i++) diff |= r[i]! ^ root[i]!
  return diff === 0
}
