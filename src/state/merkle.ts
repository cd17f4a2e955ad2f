import { toLatin1 } from '../codec/hex.js'
import { arenaBytes, arenaCopy } from './arena.js'
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
 * Every node also has a version: the number of the update that created it, and an internal
 * node records each child's version beside its hash. Versions address nodes in a store that
 * keeps several trees (until state layout 7 the store kept nodes under (version, hash), so each
 * update's nodes landed at the end of LevelDB's key space); no hash covers them, so replicas
 * with different versions still agree on every root and proof. The store now keeps only the
 * current tree, in memory (store.ts), and its node cache hands out versions of 0.
 */

export const EMPTY = new Uint8Array(32)
export const LEAF_TAG = 'bft-ledger/smt16-leaf'
export const NODE_TAG = 'bft-ledger/smt16-node'
export const ARITY = 16
const LEAF_PREFIX = Buffer.from(LEAF_TAG + '\0')
const NODE_PREFIX = Buffer.from(NODE_TAG + '\0')

export interface LeafNode { kind: 'leaf', hash: Uint8Array, keyHash: Uint8Array, value: Uint8Array }
/**
 * `childHashes` holds the 16 children's hashes, 32 bytes each in nibble order, zeros for an
 * absent child; bit i of `present` is set when child i is present. `versions[i]` is the version
 * child i is stored under (0 for an absent child). Read children with childHash / childRef.
 *
 * Why one 512-byte array and not 16 arrays: the node cache holds the tree's internal nodes
 * (at 1M accounts 69,905 in the top 5 levels, ~360,000 in all, most of the
 * deep ones with 2 children), and with 16 small typed arrays per node they took 220 MB of
 * heap after a start's load of the top levels; this form takes 58 MB, and a process committing 1M-account
 * blocks had ~270 MB less RSS. CPU per block did not change measurably (docs/performance.md,
 * eleventh session). Since the twentieth session the cache keeps nodes off the heap as records
 * (node-cache.ts) and hands out this form as short-lived copies; the one array also makes those
 * copies two memcpys.
 */
export interface InternalNode { kind: 'internal', hash: Uint8Array, childHashes: Uint8Array, present: number, versions: number[] }
export type TreeNode = LeafNode | InternalNode

/** Where a node is stored: its hash and the version of the update that created it. */
export interface NodeRef { hash: Uint8Array, version: number }
/** The empty tree. */
export const EMPTY_ROOT: NodeRef = Object.freeze({ hash: EMPTY, version: 0 })

/**
 * Where a node sits: `under` is the key hash of some key in its subtree (so its first `depth`
 * nibbles are the node's path) and `depth` its level. A store that keeps only internal nodes
 * finds a leaf by its path (store.ts).
 */
export interface NodePlace { under: Uint8Array, depth: number }
/** Loads a node; must throw (CorruptionError) if it is missing. */
export type NodeLoader = (ref: NodeRef, place: NodePlace) => Promise<TreeNode>
/** Loads many nodes at once, in order; must throw if one is missing. `places` may be absent (a retry that lost them). */
export type BatchNodeLoader = (refs: NodeRef[], places?: NodePlace[]) => Promise<TreeNode[]>
/**
 * Synchronous lookup among nodes already in memory; `key` is nodeKey(hash), to avoid recomputing
 * it. It must answer only nodes of the tree being updated: a node found by hash is followed to
 * its children by the versions it records, and another version's copy records other ones.
 */
export type CachedNode = (hash: Uint8Array, key: string) => TreeNode | undefined

// One-shot hashing over a reused scratch buffer: no Hash object per node (the hot path).
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

/** Hash of an internal node from its 16 children (EMPTY for absent ones); makeInternal's hash. */
export function nodeHash (children: readonly Uint8Array[]): Uint8Array {
  for (let i = 0; i < ARITY; i++) nodeScratch.set(children[i]!, NODE_PREFIX.length + 32 * i)
  return sha256Digest(nodeScratch)
}

export function makeLeaf (keyHash: Uint8Array, value: Uint8Array): LeafNode {
  return { kind: 'leaf', hash: leafHash(keyHash, sha256(value)), keyHash, value }
}

export function makeInternal (children: readonly Uint8Array[], versions: number[]): InternalNode {
  const childHashes = new Uint8Array(32 * ARITY)
  let present = 0
  for (let i = 0; i < ARITY; i++) {
    const c = children[i]!
    if (isEmpty(c)) continue
    childHashes.set(c, 32 * i)
    present |= 1 << i
  }
  return internal(childHashes, present, versions)
}

function internal (childHashes: Uint8Array, present: number, versions: number[]): InternalNode {
  nodeScratch.set(childHashes, NODE_PREFIX.length)
  return { kind: 'internal', hash: sha256Digest(nodeScratch), childHashes, present, versions }
}

export function hasChild (n: InternalNode, i: number): boolean {
  return ((n.present >> i) & 1) === 1
}

/** Hash of child `i` (EMPTY if absent): a view into the node, not a copy. */
export function childHash (n: InternalNode, i: number): Uint8Array {
  return hasChild(n, i) ? n.childHashes.subarray(32 * i, 32 * i + 32) : EMPTY
}

/** Child `i` of an internal node as a reference. */
export function childRef (n: InternalNode, i: number): NodeRef {
  return { hash: childHash(n, i), version: n.versions[i]! }
}

export function isEmpty (h: Uint8Array): boolean {
  // Absent children are this one shared array (decodeNode, EMPTY_REF, join). Comparing 32 zero
  // bytes for each absent child of every node on a block's touched paths (16 checks per node in
  // encodeNode, join and updateNode) had ~10 % of the main thread's samples in a profile of
  // 1M-account block commits.
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
   * hint: a leaf rebuilt from it stands in for a stored node only if its hash is the one the
   * tree holds at that position.
   */
  old?: Uint8Array | null
}

/** What a subtree became: where it is stored and, when known, whether it is a single leaf. */
interface Ref extends NodeRef { kind: 'empty' | 'leaf' | 'internal' | 'unknown' }

const EMPTY_REF: Ref = { hash: EMPTY, version: 0, kind: 'empty' }

class MissingNode extends Error {
  constructor (readonly ref: NodeRef) {
    super('tree node not in memory')
  }
}

/**
 * One bounds array per depth (paths have 64 nibbles). The walks below recurse one depth at a
 * time and read a node's bounds only before and between their calls one level down, which use
 * the next array, so one array per depth is enough and no walk allocates one per node.
 */
const RUNS = Array.from({ length: 65 }, () => new Int32Array(ARITY + 1))

/**
 * Splits items sorted by keyHash into the 16 runs by nibble at `depth` (bounds:
 * starts[i]..starts[i+1]). The array is shared: valid until the next call at the same depth.
 */
export function nibbleRuns (items: ReadonlyArray<{ keyHash: Uint8Array }>, depth: number): Int32Array {
  const starts = RUNS[depth]!
  let j = 0
  for (let nib = 0; nib < ARITY; nib++) {
    starts[nib] = j
    while (j < items.length && nibbleAt(items[j]!.keyHash, depth) === nib) j++
  }
  starts[ARITY] = items.length
  return starts
}

export interface TreeUpdate {
  root: NodeRef
  /** Every node the new tree has and the old one did not, all at the update's version. */
  created: TreeNode[]
  /**
   * Where the old tree's nodes on touched paths are stored whose position now holds another
   * hash: they belong to older roots only (a store drops them: store.ts from its cache).
   * A leaf pushed down a level by an insert is listed here (its old version) and in `created`
   * (rebuilt at this version, same hash), so apply `replaced` before `created` to a cache keyed
   * by hash.
   */
  replaced: NodeRef[]
}

/**
 * Applies updates (any order, one per keyHash) to the tree at `root`, returning the new root,
 * every node created (all of them at `version`) and every node replaced. Nothing is written;
 * the caller persists `created` under `version`.
 *
 * Two passes, so the per-node cost is plain hashing and not one await per node: first the
 * nodes on the touched paths are fetched level by level (one batch read per level for the
 * ones not in memory), then the new tree is computed synchronously from memory.
 */
export async function updateTree (root: NodeRef, updates: PathUpdate[], version: number, loadMany: BatchNodeLoader, cached: CachedNode = () => undefined): Promise<TreeUpdate> {
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
  const fetch = async (refs: NodeRef[], places?: NodePlace[]): Promise<void> => {
    if (refs.length === 0) return
    for (const n of await loadMany(refs, places)) local.set(nodeKey(n.hash), n)
  }

  // A subtree reached by one update, whose old value the caller gave, is usually that key's own
  // leaf: rebuilt from the value, and recognized by its hash, it needs no read. At 1M accounts
  // nearly every recipient's leaf is cold, and this saves one LevelDB read per recipient.
  const knownLeaf = (ref: NodeRef, ups: PathUpdate[]): TreeNode | undefined => {
    const old = ups.length === 1 ? ups[0]!.old : undefined
    if (old === undefined || old === null) return undefined
    const leafNode = makeLeaf(ups[0]!.keyHash, old)
    if (!equal32(leafNode.hash, ref.hash)) return undefined
    local.set(nodeKey(leafNode.hash), leafNode)
    return leafNode
  }

  let frontier: Array<{ ref: NodeRef, depth: number, ups: PathUpdate[], under: Uint8Array }> = isEmpty(root.hash) || sorted.length === 0 ? [] : [{ ref: root, depth: 0, ups: sorted, under: sorted[0]!.keyHash }]
  while (frontier.length > 0) {
    const nodes = frontier.map(f => pin(f.ref.hash) ?? knownLeaf(f.ref, f.ups))
    const missing = frontier.filter((_, i) => nodes[i] === undefined)
    await fetch(missing.map(f => f.ref), missing.map(f => ({ under: f.under, depth: f.depth })))
    const next: typeof frontier = []
    for (let i = 0; i < frontier.length; i++) {
      const f = frontier[i]!
      const node = nodes[i] ?? local.get(nodeKey(f.ref.hash))
      if (node === undefined || node.kind === 'leaf' || f.ups.length === 0) continue
      const runs = nibbleRuns(f.ups, f.depth)
      // A subtree with deletes may empty out; then its siblings' kinds decide the collapse.
      const deletes = f.ups.some(u => u.value === null)
      for (let nib = 0; nib < ARITY; nib++) {
        const lo = runs[nib]!
        const hi = runs[nib + 1]!
        if (lo === hi && !deletes) continue
        if (hasChild(node, nib)) next.push({ ref: childRef(node, nib), depth: f.depth + 1, ups: f.ups.slice(lo, hi), under: lo < hi ? f.ups[lo]!.keyHash : withNibble(f.under, f.depth, nib) })
      }
    }
    frontier = next
  }

  // The prefetch covers every node the pass reads; the retry is only a safety net.
  for (let attempt = 0; ; attempt++) {
    try {
      return updateFromMemory(root, sorted, version, h => pin(h))
    } catch (err) {
      if (!(err instanceof MissingNode) || attempt > 64) throw err
      await fetch([err.ref])
    }
  }
}

/** A copy of `path` with nibble `depth` set to `nib`: a path under that child of the node at `depth`. */
function withNibble (path: Uint8Array, depth: number, nib: number): Uint8Array {
  const out = path.slice()
  const i = depth >> 1
  out[i] = (depth & 1) === 0 ? (nib << 4) | (out[i]! & 0x0f) : (out[i]! & 0xf0) | nib
  return out
}

/** Map key of a node hash (a 32-char binary string: cheap to build and compare). */
export function nodeKey (hash: Uint8Array): string {
  return toLatin1(hash)
}

function updateFromMemory (root: NodeRef, sorted: PathUpdate[], version: number, find: (hash: Uint8Array) => TreeNode | undefined): TreeUpdate {
  const created: TreeNode[] = []
  const replaced: NodeRef[] = []
  const load = (r: NodeRef): TreeNode => {
    const n = find(r.hash)
    if (n === undefined) throw new MissingNode(r)
    return n
  }

  const leaf = (kh: Uint8Array, value: Uint8Array): Ref => {
    const n = makeLeaf(kh, value)
    created.push(n)
    return { hash: n.hash, version, kind: 'leaf' }
  }

  // `items` are sorted leaves (all with values) that share the path prefix up to `depth`.
  const build = (items: Array<{ keyHash: Uint8Array, value: Uint8Array }>, depth: number): Ref => {
    if (items.length === 0) return EMPTY_REF
    if (items.length === 1) return leaf(items[0]!.keyHash, items[0]!.value)
    const runs = nibbleRuns(items, depth)
    const childHashes = arenaBytes(32 * ARITY)
    const versions = new Array<number>(ARITY).fill(0)
    let present = 0
    let leaves = 0
    for (let nib = 0; nib < ARITY; nib++) {
      const lo = runs[nib]!
      const hi = runs[nib + 1]!
      if (lo === hi) continue
      const r = build(items.slice(lo, hi), depth + 1)
      childHashes.set(r.hash, 32 * nib)
      versions[nib] = r.version
      present |= 1 << nib
      if (r.kind === 'leaf') leaves |= 1 << nib
    }
    // Every child here is new, so its kind is known.
    return joinNode(childHashes, present, versions, present, leaves)
  }

  const update = (ref: NodeRef, depth: number, ups: PathUpdate[]): Ref => {
    if (ups.length === 0) return { ...ref, kind: isEmpty(ref.hash) ? 'empty' : 'unknown' }
    if (isEmpty(ref.hash)) return build(ups.filter(hasValue), depth)
    const r = updateNode(ref, depth, ups)
    // The position now holds another hash: the old node left the tree, except a leaf that an
    // insert pushed one level down, which is rebuilt and so is in `created` as well.
    if (!equal32(r.hash, ref.hash)) replaced.push({ hash: ref.hash, version: ref.version })
    return r
  }

  const updateNode = (ref: NodeRef, depth: number, ups: PathUpdate[]): Ref => {
    const node = load(ref)
    if (node.kind === 'leaf') {
      const overwritten = ups.some(u => equal32(u.keyHash, node.keyHash))
      const items = ups.filter(hasValue)
      if (!overwritten) {
        items.push({ keyHash: node.keyHash, value: node.value })
        items.sort((a, b) => compare(a.keyHash, b.keyHash))
      }
      if (items.length === 1 && equal32(items[0]!.keyHash, node.keyHash) && Buffer.compare(items[0]!.value, node.value) === 0) {
        return { ...ref, kind: 'leaf' }
      }
      return build(items, depth)
    }
    // Only the touched children change: the new node starts as a copy of the old one's 512
    // bytes and versions, and the untouched children cost nothing. (Building 16 child refs per
    // node, each with a view of its hash, and joining them was ~30 % of the bytes a 1M-account
    // block allocated in bench/state-root.ts; docs/performance.md, nineteenth session.)
    const runs = nibbleRuns(ups, depth)
    let childHashes: Uint8Array | null = null
    let versions: number[] | null = null
    let present = node.present
    // Children this update rebuilt, and which of them are single leaves (join needs the kind).
    let rebuilt = 0
    let leaves = 0
    for (let nib = 0; nib < ARITY; nib++) {
      const lo = runs[nib]!
      const hi = runs[nib + 1]!
      if (lo === hi) continue
      const child = childRef(node, nib)
      const r = update(child, depth + 1, ups.slice(lo, hi))
      if (equal32(r.hash, child.hash)) continue
      if (childHashes === null || versions === null) { childHashes = arenaCopy(node.childHashes); versions = node.versions.slice() }
      if (r.kind === 'empty') {
        childHashes.fill(0, 32 * nib, 32 * nib + 32)
        present &= ~(1 << nib)
        versions[nib] = 0
      } else {
        childHashes.set(r.hash, 32 * nib)
        present |= 1 << nib
        versions[nib] = r.version
        rebuilt |= 1 << nib
        if (r.kind === 'leaf') leaves |= 1 << nib
      }
    }
    if (childHashes === null || versions === null) return { ...ref, kind: 'internal' }
    return joinNode(childHashes, present, versions, rebuilt, leaves)
  }

  /**
   * What a node with these children becomes: nothing, its lone leaf moved up, or a new internal
   * node. `rebuilt` marks the children this update made (their kinds known: leaf when in
   * `leaves`); the kind of a lone untouched child is loaded.
   */
  const joinNode = (childHashes: Uint8Array, present: number, versions: number[], rebuilt: number, leaves: number): Ref => {
    if (present === 0) return EMPTY_REF
    // A lone leaf moves up to its shortest unique prefix; a lone internal subtree stays.
    if ((present & (present - 1)) === 0) {
      const nib = 31 - Math.clz32(present)
      const only = { hash: childHashes.slice(32 * nib, 32 * nib + 32), version: versions[nib]! }
      const isLeaf = (rebuilt & present) !== 0 ? (leaves & present) !== 0 : load(only).kind === 'leaf'
      if (isLeaf) return { ...only, kind: 'leaf' }
    }
    const n = internal(childHashes, present, versions)
    created.push(n)
    return { hash: n.hash, version, kind: 'internal' }
  }

  const r = update(root, 0, sorted)
  return { root: { hash: r.hash, version: r.version }, created, replaced }
}

const ZERO_VERSIONS: number[] = new Array<number>(ARITY).fill(0)

/**
 * The tree of `count` leaves given as key hashes sorted ascending (`keyHashes`, 32 bytes each,
 * no duplicates) and their leaf hashes in the same order (`leafHashes`): its root hash, with
 * every internal node handed to `onInternal` (children before parents; version 0). Bottom-up
 * and synchronous, with no node read: what updateTree would give for inserting these leaves
 * into an empty tree, at a fraction of the cost (store.ts rebuilds the tree this way at start).
 * `onInternal` must copy what it keeps: the node's child array is reused.
 */
export function buildSorted (keyHashes: Uint8Array, leafHashes: Uint8Array, count: number, onInternal: (n: InternalNode) => void): Uint8Array {
  if (count === 0) return EMPTY
  const nibble = (i: number, depth: number): number => {
    const b = keyHashes[32 * i + (depth >> 1)]!
    return (depth & 1) === 0 ? b >> 4 : b & 0x0f
  }
  // One child array per depth: a level's array is free again once its node is made.
  const scratch = Array.from({ length: 65 }, () => new Uint8Array(32 * ARITY))
  const rec = (lo: number, hi: number, depth: number): Uint8Array => {
    if (hi - lo === 1) return leafHashes.subarray(32 * lo, 32 * lo + 32)
    if (depth >= 64) throw new Error('buildSorted: duplicate key hash')
    const childHashes = scratch[depth]!
    childHashes.fill(0)
    let present = 0
    for (let i = lo; i < hi;) {
      const nib = nibble(i, depth)
      let j = i + 1
      while (j < hi && nibble(j, depth) === nib) j++
      const h = rec(i, j, depth + 1)
      childHashes.set(h, 32 * nib)
      present |= 1 << nib
      i = j
    }
    // Two or more leaves below: never a lone leaf child, so no collapse (as build() in updateTree).
    const n = internal(childHashes, present, ZERO_VERSIONS)
    onInternal(n)
    return n.hash
  }
  return rec(0, count, 0)
}

function hasValue (u: PathUpdate): u is { keyHash: Uint8Array, value: Uint8Array } {
  return u.value !== null
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

/** Walks the key's path: its value (or null) and the proof. */
export async function proveKey (root: NodeRef, keyHash: Uint8Array, load: NodeLoader): Promise<{ value: Uint8Array | null, proof: SmtProof }> {
  const siblings: Uint8Array[] = []
  let ref = root
  for (let depth = 0; ; depth++) {
    if (isEmpty(ref.hash)) return { value: null, proof: { siblings, other: null } }
    const node = await load(ref, { under: keyHash, depth })
    if (node.kind === 'leaf') {
      if (equal32(node.keyHash, keyHash)) return { value: node.value, proof: { siblings, other: null } }
      return { value: null, proof: { siblings, other: { keyHash: node.keyHash, valueHash: sha256(node.value) } } }
    }
    const nib = nibbleAt(keyHash, depth)
    for (let i = 0; i < ARITY; i++) {
      if (i === nib) continue
      // A copy: the proof outlives the cached node it came from.
      siblings.push(hasChild(node, i) ? childHash(node, i).slice() : new Uint8Array(0))
    }
    ref = childRef(node, nib)
  }
}

/** Reads the value of a key at a root whose nodes `load` can reach. */
export async function lookup (root: NodeRef, keyHash: Uint8Array, load: NodeLoader): Promise<Uint8Array | null> {
  let ref = root
  for (let depth = 0; !isEmpty(ref.hash); depth++) {
    const node = await load(ref, { under: keyHash, depth })
    if (node.kind === 'leaf') return equal32(node.keyHash, keyHash) ? node.value : null
    ref = childRef(node, nibbleAt(keyHash, depth))
  }
  return null
}
