import { hash as createHashOneShot } from 'node:crypto'

/**
 * Compact binary sparse Merkle tree over 256-bit paths (path = sha256(state key)).
 *
 * A subtree holding exactly one leaf is represented by that leaf itself, so a leaf sits at the
 * shortest prefix of its path that no other key shares (as in a compact SMT / Jellyfish tree)
 * and the tree depth is about log2(N) instead of 256. A subtree holding no leaf is EMPTY (32
 * zero bytes). Every internal node has two non-empty children or at least one internal child.
 * This shape is canonical: it depends only on the set of (key, value) pairs, never on the
 * order of updates, so every replica computes the same root.
 *
 *   leaf hash     = sha256("bft-ledger/smt-leaf" 0x00 || keyHash || sha256(value))
 *   internal hash = sha256("bft-ledger/smt-node" 0x00 || left || right)
 *
 * A leaf's hash does not depend on its depth, so leaves moving up or down on inserts and
 * deletes are not rehashed. Updates rehash only the paths of touched keys: O(k log N).
 */

export const EMPTY = new Uint8Array(32)
export const LEAF_TAG = 'bft-ledger/smt-leaf'
export const NODE_TAG = 'bft-ledger/smt-node'
const LEAF_PREFIX = Buffer.from(LEAF_TAG + '\0')
const NODE_PREFIX = Buffer.from(NODE_TAG + '\0')

export interface LeafNode { kind: 'leaf', hash: Uint8Array, keyHash: Uint8Array, value: Uint8Array }
export interface InternalNode { kind: 'internal', hash: Uint8Array, left: Uint8Array, right: Uint8Array }
export type TreeNode = LeafNode | InternalNode

/** Loads a stored node by hash; must throw (CorruptionError) if it is missing. */
export type NodeLoader = (hash: Uint8Array) => Promise<TreeNode>
/** Loads many stored nodes at once (one LevelDB getMany), in order; must throw if one is missing. */
export type BatchNodeLoader = (hashes: Uint8Array[]) => Promise<TreeNode[]>
/** Synchronous lookup among nodes already in memory; `key` is nodeKey(hash), to avoid recomputing it. */
export type CachedNode = (hash: Uint8Array, key: string) => TreeNode | undefined

// One-shot hashing over a reused scratch buffer: no Hash object per node (the hot path).
const nodeScratch = Buffer.alloc(NODE_PREFIX.length + 64)
NODE_PREFIX.copy(nodeScratch, 0)
const leafScratch = Buffer.alloc(LEAF_PREFIX.length + 64)
LEAF_PREFIX.copy(leafScratch, 0)

function digest (buf: Buffer): Uint8Array {
  const d = createHashOneShot('sha256', buf, 'buffer')
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

export function sha256 (data: Uint8Array): Uint8Array {
  return digest(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
}

export function leafHash (keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  leafScratch.set(keyHash, LEAF_PREFIX.length)
  leafScratch.set(valueHash, LEAF_PREFIX.length + 32)
  return digest(leafScratch)
}

export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeScratch.set(left, NODE_PREFIX.length)
  nodeScratch.set(right, NODE_PREFIX.length + 32)
  return digest(nodeScratch)
}

export function makeLeaf (keyHash: Uint8Array, value: Uint8Array): LeafNode {
  return { kind: 'leaf', hash: leafHash(keyHash, sha256(value)), keyHash, value }
}

export function makeInternal (left: Uint8Array, right: Uint8Array): InternalNode {
  return { kind: 'internal', hash: nodeHash(left, right), left, right }
}

export function isEmpty (h: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (h[i] !== 0) return false
  return true
}

export function bitAt (path: Uint8Array, depth: number): number {
  return (path[depth >> 3]! >> (7 - (depth & 7))) & 1
}

function compare (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return 0
}

function equal32 (a: Uint8Array, b: Uint8Array): boolean {
  return compare(a, b) === 0
}

// Storage form: 0x00 || keyHash || value (leaf), 0x01 || left || right (internal).
export function encodeNode (n: TreeNode): Uint8Array {
  const out = new Uint8Array(n.kind === 'leaf' ? 33 + n.value.length : 65)
  if (n.kind === 'leaf') {
    out[0] = 0
    out.set(n.keyHash, 1)
    out.set(n.value, 33)
  } else {
    out[0] = 1
    out.set(n.left, 1)
    out.set(n.right, 33)
  }
  return out
}

/** Decodes a stored node; the hash is recomputed, never trusted. Null if the bytes are invalid. */
export function decodeNode (bytes: Uint8Array): TreeNode | null {
  if (bytes.length < 33) return null
  if (bytes[0] === 0) return makeLeaf(bytes.slice(1, 33), bytes.slice(33))
  if (bytes[0] === 1 && bytes.length === 65) return makeInternal(bytes.slice(1, 33), bytes.slice(33, 65))
  return null
}

export interface PathUpdate {
  keyHash: Uint8Array
  /** null deletes the key */
  value: Uint8Array | null
}

/** What a subtree became: its hash and, when known, whether it is a single leaf. */
interface Ref { hash: Uint8Array, kind: 'empty' | 'leaf' | 'internal' | 'unknown' }

const EMPTY_REF: Ref = { hash: EMPTY, kind: 'empty' }

class MissingNode extends Error {
  constructor (readonly hash: Uint8Array) {
    super('tree node not in memory')
  }
}

/**
 * Applies updates (any order, one per keyHash) to the tree at `root`, returning the new root
 * and every node created. Nothing is written; the caller persists `created`.
 *
 * Two passes, so the per-node cost is plain hashing and not one await per node: first the
 * nodes on the touched paths are fetched level by level (one batch read per level for the
 * ones not in memory), then the new tree is computed synchronously from memory.
 */
export async function updateTree (root: Uint8Array, updates: PathUpdate[], loadMany: BatchNodeLoader, cached: CachedNode = () => undefined): Promise<{ root: Uint8Array, created: TreeNode[] }> {
  const sorted = [...updates].sort((a, b) => compare(a.keyHash, b.keyHash))
  for (let i = 1; i < sorted.length; i++) {
    if (equal32(sorted[i - 1]!.keyHash, sorted[i]!.keyHash)) throw new Error('updateTree: duplicate key in one update')
  }
  // Every node the update reads is pinned here first, so cache eviction cannot lose one mid-update.
  const local = new Map<string, TreeNode>()
  const pin = (h: Uint8Array): TreeNode | undefined => {
    const k = nodeKey(h)
    let n = local.get(k)
    if (n === undefined) {
      n = cached(h, k)
      if (n !== undefined) local.set(k, n)
    }
    return n
  }
  const fetch = async (hashes: Uint8Array[]): Promise<void> => {
    if (hashes.length === 0) return
    for (const n of await loadMany(hashes)) local.set(nodeKey(n.hash), n)
  }

  let frontier: Array<{ ref: Uint8Array, depth: number, ups: PathUpdate[] }> = isEmpty(root) ? [] : [{ ref: root, depth: 0, ups: sorted }]
  while (frontier.length > 0) {
    const nodes = frontier.map(f => pin(f.ref))
    const missing = frontier.filter((_, i) => nodes[i] === undefined).map(f => f.ref)
    await fetch(missing)
    const next: typeof frontier = []
    for (let i = 0; i < frontier.length; i++) {
      const f = frontier[i]!
      const node = nodes[i] ?? local.get(nodeKey(f.ref))
      if (node === undefined || node.kind === 'leaf' || f.ups.length === 0) continue
      const split = splitIndex(f.ups, f.depth)
      // A subtree with deletes may empty out; then its sibling's kind decides the collapse.
      const deletes = f.ups.some(u => u.value === null)
      const l = f.ups.slice(0, split)
      const r = f.ups.slice(split)
      if ((l.length > 0 || deletes) && !isEmpty(node.left)) next.push({ ref: node.left, depth: f.depth + 1, ups: l })
      if ((r.length > 0 || deletes) && !isEmpty(node.right)) next.push({ ref: node.right, depth: f.depth + 1, ups: r })
    }
    frontier = next
  }

  // The prefetch covers every node the pass reads; the retry is only a safety net.
  for (let attempt = 0; ; attempt++) {
    try {
      return updateFromMemory(root, sorted, h => pin(h))
    } catch (err) {
      if (!(err instanceof MissingNode) || attempt > 64) throw err
      await fetch([err.hash])
    }
  }
}

/** Map key of a node hash (a 32-char binary string: cheap to build and compare). */
export function nodeKey (hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('latin1')
}

function updateFromMemory (root: Uint8Array, sorted: PathUpdate[], find: (hash: Uint8Array) => TreeNode | undefined): { root: Uint8Array, created: TreeNode[] } {
  const created: TreeNode[] = []
  const load = (h: Uint8Array): TreeNode => {
    const n = find(h)
    if (n === undefined) throw new MissingNode(h)
    return n
  }

  const leaf = (kh: Uint8Array, value: Uint8Array): Ref => {
    const n = makeLeaf(kh, value)
    created.push(n)
    return { hash: n.hash, kind: 'leaf' }
  }

  const join = (l: Ref, r: Ref): Ref => {
    if (l.kind === 'empty' && r.kind === 'empty') return EMPTY_REF
    // A lone leaf moves up to its shortest unique prefix; a lone internal subtree stays.
    if (l.kind === 'empty' || r.kind === 'empty') {
      const only = l.kind === 'empty' ? r : l
      const kind = only.kind === 'unknown' ? load(only.hash).kind : only.kind
      if (kind === 'leaf') return { hash: only.hash, kind }
    }
    const n = makeInternal(l.hash, r.hash)
    created.push(n)
    return { hash: n.hash, kind: 'internal' }
  }

  // `items` are sorted leaves (all with values) that share the path prefix up to `depth`.
  const build = (items: Array<{ keyHash: Uint8Array, value: Uint8Array }>, depth: number): Ref => {
    if (items.length === 0) return EMPTY_REF
    if (items.length === 1) return leaf(items[0]!.keyHash, items[0]!.value)
    const split = splitIndex(items, depth)
    return join(build(items.slice(0, split), depth + 1), build(items.slice(split), depth + 1))
  }

  const update = (ref: Uint8Array, depth: number, ups: PathUpdate[]): Ref => {
    if (ups.length === 0) return { hash: ref, kind: isEmpty(ref) ? 'empty' : 'unknown' }
    if (isEmpty(ref)) return build(ups.filter(hasValue), depth)
    const node = load(ref)
    if (node.kind === 'leaf') {
      const replaced = ups.some(u => equal32(u.keyHash, node.keyHash))
      const items = ups.filter(hasValue)
      if (!replaced) {
        items.push({ keyHash: node.keyHash, value: node.value })
        items.sort((a, b) => compare(a.keyHash, b.keyHash))
      }
      if (items.length === 1 && equal32(items[0]!.keyHash, node.keyHash) && Buffer.compare(items[0]!.value, node.value) === 0) {
        return { hash: node.hash, kind: 'leaf' }
      }
      return build(items, depth)
    }
    const split = splitIndex(ups, depth)
    const l = update(node.left, depth + 1, ups.slice(0, split))
    const r = update(node.right, depth + 1, ups.slice(split))
    if (equal32(l.hash, node.left) && equal32(r.hash, node.right)) return { hash: node.hash, kind: 'internal' }
    return join(l, r)
  }

  return { root: update(root, 0, sorted).hash, created }
}

function hasValue (u: PathUpdate): u is { keyHash: Uint8Array, value: Uint8Array } {
  return u.value !== null
}

/** First index whose bit at `depth` is 1 (items are sorted, so bits are monotone there). */
function splitIndex (items: Array<{ keyHash: Uint8Array }>, depth: number): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (bitAt(items[mid]!.keyHash, depth) === 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Proof body (the `proof` field of StateProof), canonical-CBOR encodable. */
export interface SmtProof {
  /** Siblings from the root down to where the search ended; an empty array entry = EMPTY. */
  siblings: Uint8Array[]
  /** For non-inclusion: the other leaf that occupies the key's slot, or null if the slot is empty. */
  other: { keyHash: Uint8Array, valueHash: Uint8Array } | null
}

/** Walks the key's path: its value (or null) and the proof. */
export async function proveKey (root: Uint8Array, keyHash: Uint8Array, load: NodeLoader): Promise<{ value: Uint8Array | null, proof: SmtProof }> {
  const siblings: Uint8Array[] = []
  let ref = root
  for (let depth = 0; ; depth++) {
    if (isEmpty(ref)) return { value: null, proof: { siblings, other: null } }
    const node = await load(ref)
    if (node.kind === 'leaf') {
      if (equal32(node.keyHash, keyHash)) return { value: node.value, proof: { siblings, other: null } }
      return { value: null, proof: { siblings, other: { keyHash: node.keyHash, valueHash: sha256(node.value) } } }
    }
    const bit = bitAt(keyHash, depth)
    const sib = bit === 0 ? node.right : node.left
    siblings.push(isEmpty(sib) ? new Uint8Array(0) : sib)
    ref = bit === 0 ? node.left : node.right
  }
}

/** Reads the value of a key at any stored root (old roots stay readable: nodes are never pruned). */
export async function lookup (root: Uint8Array, keyHash: Uint8Array, load: NodeLoader): Promise<Uint8Array | null> {
  let ref = root
  for (let depth = 0; !isEmpty(ref); depth++) {
    const node = await load(ref)
    if (node.kind === 'leaf') return equal32(node.keyHash, keyHash) ? node.value : null
    ref = bitAt(keyHash, depth) === 0 ? node.left : node.right
  }
  return null
}
