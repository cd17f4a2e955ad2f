import { sha256, sha256Digest } from '../crypto/hash.js'

/**
 * Compact hexary (16-way) sparse Merkle tree over 256-bit paths (path = sha256(state key),
 * read as 64 nibbles, high nibble of each byte first).
 *
 * A subtree holding exactly one leaf is represented by that leaf itself, so a leaf sits at the
 * shortest prefix of its path that no other key shares (as in a compact SMT / Jellyfish tree)
 * and the tree depth is about log16(N): 5 levels for a million keys, where the binary form of
 * this tree had 20. A subtree holding no leaf is EMPTY (32 zero bytes). Every internal node has
 * two or more non-empty children, or exactly one child that is itself internal. This shape is
 * canonical: it depends only on the set of (key, value) pairs, never on the order of updates,
 * so every replica computes the same root.
 *
 *   leaf hash     = sha256("bft-ledger/smt16-leaf" 0x00 || keyHash || sha256(value))
 *   internal hash = sha256("bft-ledger/smt16-node" 0x00 || child0 || ... || child15)
 *
 * Why 16-way: every updated key rewrites one node per level. With 20 binary levels a block of
 * transfers on a large state created, stored, cached and (when cold) read back 4x as many
 * nodes as with 5 hexary levels; hashing 512 bytes costs little more than hashing 64 (the
 * per-call cost dominates). Proofs get bigger: 15 sibling hashes per level instead of 1.
 *
 * A leaf's hash does not depend on its depth, so leaves moving up or down on inserts and
 * deletes are not rehashed. Updates rehash only the paths of touched keys: O(k log N).
 *
 * This module holds the tree's definitions and hashing; the tree itself, held in memory by
 * position, is tree.ts, and proofs are checked by proof.ts.
 */

export const EMPTY = new Uint8Array(32)
export const LEAF_TAG = 'bft-ledger/smt16-leaf'
export const NODE_TAG = 'bft-ledger/smt16-node'
export const ARITY = 16
const LEAF_PREFIX = Buffer.from(LEAF_TAG + '\0')
const NODE_PREFIX = Buffer.from(NODE_TAG + '\0')

export interface LeafNode { kind: 'leaf', hash: Uint8Array, keyHash: Uint8Array, value: Uint8Array }
/**
 * Where a node sits: `under` is the key hash of some key in its subtree (so its first `depth`
 * nibbles are the node's path) and `depth` its level. The store keeps no leaves and finds one
 * by its path (store.ts).
 */
export interface NodePlace { under: Uint8Array, depth: number }

// One-shot hashing over a reused scratch buffer: no Hash object per leaf (the hot path).
const nodeScratch = Buffer.alloc(NODE_PREFIX.length + 32 * ARITY)
NODE_PREFIX.copy(nodeScratch, 0)
const leafScratch = Buffer.alloc(LEAF_PREFIX.length + 64)
LEAF_PREFIX.copy(leafScratch, 0)

/** The project's sha256 (one-shot through OpenSSL), re-exported for the tree's callers. */
export { sha256 }

export function leafHash (keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  leafScratch.set(keyHash, LEAF_PREFIX.length)
  leafScratch.set(valueHash, LEAF_PREFIX.length + 32)
  return sha256Digest(leafScratch)
}

/** Hash of an internal node from its 16 children (EMPTY for absent ones). tree.ts hashes its records in place. */
export function nodeHash (children: readonly Uint8Array[]): Uint8Array {
  for (let i = 0; i < ARITY; i++) nodeScratch.set(children[i]!, NODE_PREFIX.length + 32 * i)
  return sha256Digest(nodeScratch)
}

export function makeLeaf (keyHash: Uint8Array, value: Uint8Array): LeafNode {
  return { kind: 'leaf', hash: leafHash(keyHash, sha256(value)), keyHash, value }
}

export function isEmpty (h: Uint8Array): boolean {
  // An empty subtree is usually this one shared array: no 32-byte compare.
  if (h === EMPTY) return true
  for (let i = 0; i < 32; i++) if (h[i] !== 0) return false
  return true
}

/** Nibble `depth` (0..63) of a 32-byte path. */
export function nibbleAt (path: Uint8Array, depth: number): number {
  const b = path[depth >> 1]!
  return (depth & 1) === 0 ? b >> 4 : b & 0x0f
}

/** Order of two 32-byte hashes (negative, 0, positive). */
export function compare (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return 0
}

export function equal32 (a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false
  return true
}

export interface PathUpdate {
  keyHash: Uint8Array
  /** null deletes the key */
  value: Uint8Array | null
  /**
   * The key's value in the tree being updated, when the caller knows it (null: absent). Only a
   * hint: a leaf rebuilt from it stands in for the tree's leaf only if its hash is the one the
   * tree holds at that position; otherwise the leaf is loaded (tree.ts).
   */
  old?: Uint8Array | null
}

/**
 * One bounds array per depth (paths have 64 nibbles). The tree's walks (tree.ts) recurse one depth at a
 * time and read a node's bounds only before and between their calls one level down, which use
 * the next array, so one array per depth is enough and no walk allocates one per node.
 */
const RUNS = Array.from({ length: 65 }, () => new Int32Array(ARITY + 1))

/**
 * Splits items[lo, hi), sorted by keyHash, into the 16 runs by nibble at `depth` (bounds:
 * starts[i]..starts[i+1], indices into `items`). The array is shared: valid until the next
 * call at the same depth.
 */
export function nibbleRuns (items: ReadonlyArray<{ keyHash: Uint8Array }>, depth: number, lo = 0, hi = items.length): Int32Array {
  const starts = RUNS[depth]!
  let j = lo
  for (let nib = 0; nib < ARITY; nib++) {
    starts[nib] = j
    while (j < hi && nibbleAt(items[j]!.keyHash, depth) === nib) j++
  }
  starts[ARITY] = hi
  return starts
}

/** Proof body (the `proof` field of StateProof), canonical-CBOR encodable. */
export interface SmtProof {
  /**
   * From the root down to where the search ended, 15 hashes per level: the node's children
   * other than the one on the key's path, in nibble order; an empty array entry = EMPTY.
   */
  siblings: Uint8Array[]
  /** For non-inclusion: the other leaf that occupies the key's slot, or null if the slot is empty. */
  other: { keyHash: Uint8Array, valueHash: Uint8Array } | null
}
