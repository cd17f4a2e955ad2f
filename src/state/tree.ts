import { toLatin1 } from '../codec/hex.js'
import { CorruptionError, ValidationError } from '../errors.js'
import { ARITY, compare, EMPTY, equal32, isEmpty, leafHash, nibbleAt, nibbleRuns, NODE_TAG, sha256, type LeafNode, type NodePlace, type PathUpdate, type SmtProof } from './merkle.js'

/**
 * The state's sparse Merkle tree (the shape and hashes of merkle.ts) held in memory by
 * position: every internal node is a fixed-size record in a few large ArrayBuffers, and a node
 * finds its internal children by record number, not by hash. Leaves are not kept: a node holds
 * its leaf children's hashes, and the store rebuilds a leaf from the key index and the flat
 * value when an update or a proof needs it (store.ts).
 *
 * Record layout (RECORD bytes, a multiple of 8):
 *   [0, 32)      the node's hash
 *   [32, 544)    the 16 children's hashes, 32 each in nibble order, zeros for an absent child
 *   [544, 548)   present bitmap (uint32): bit i set when child i is present
 *   [548, 612)   16 child links (int32): record number + 1 of an internal child, 0 for a leaf or
 *                an absent child
 *
 * Why by position: until the twenty-fourth session the nodes sat in a hash table keyed by node
 * hash (node-cache.ts). A block then found every node on its paths by a probe of that table,
 * copied it out, and at commit deleted every replaced node from the index and inserted its
 * successor: at 1M accounts the table's probes and moves were a fifth of a validator's main
 * thread in a block commit (docs/performance.md). An internal node never moves in this tree
 * shape (only leaves move up and down on deletes and inserts), so an update overwrites a node's
 * record in place, and a lookup is one array read per level.
 *
 * Updates are two-phase, as the store's block commit is: plan() computes the new root and the
 * changed records without touching the tree (reads of the current tree go on meanwhile), and
 * apply() writes them, synchronously. A plan is valid only for the tree it was made from.
 */
const HASH = 0
const CHILDREN = 32
const PRESENT = CHILDREN + 32 * ARITY
const LINKS = PRESENT + 4
const RECORD = LINKS + 4 * ARITY + 4

const SLAB_BITS = 12
const SLAB_RECORDS = 1 << SLAB_BITS
const SLAB_MASK = SLAB_RECORDS - 1

const NODE_PREFIX = Buffer.from(NODE_TAG + '\0')
/** Prefix then 16 children: an internal node's hash input, filled and hashed in place. */
const scratch = Buffer.alloc(NODE_PREFIX.length + 32 * ARITY)
NODE_PREFIX.copy(scratch, 0)
const scratchChildren = scratch.subarray(NODE_PREFIX.length)
/**
 * Children and links of the node a plan is writing at each depth: a plan recurses one depth
 * at a time and fills a depth's arrays only around its calls one level down.
 */
const childrenAt = Array.from({ length: 65 }, () => new Uint8Array(32 * ARITY))
const linksAt = Array.from({ length: 65 }, () => new Int32Array(ARITY))

interface Slab { bytes: Uint8Array, i32: Int32Array }

/**
 * What a subtree is after a plan: its hash, and `link`: 0 for a leaf or the empty subtree
 * (hash EMPTY), record number + 1 of an internal node the plan left as it was, or -(k + 1)
 * for the plan's k-th written node.
 */
interface Sub { hash: Uint8Array, link: number }

/**
 * An update computed by plan(), applied by apply(). The nodes it writes are serialized in
 * record layout, children before parents, with links to nodes of the same plan as -(k + 1):
 * a plan is a few arrays, not thousands of heap objects that live through the block's write
 * and so get promoted for the major GC to mark.
 */
export interface TreePlan {
  root: Uint8Array
  /** Nodes written. */
  changes: number
  /** For the k-th: the record it rewrites, or -1 for a new node (apply() allocates it). */
  readonly targets: Int32Array
  /** The k-th node at k * RECORD bytes: hash, children, present bitmap, links. */
  readonly records: Slab
  /** Records of internal nodes the new tree no longer has. */
  freed: number[]
  /** Internal nodes after the plan is applied. */
  size: number
  /** The tree the plan was made from. */
  readonly base: number
  readonly rootLink: number
}

/** A node on a key's path, as read(): its children other than the path's, for a proof. */
export interface PathStep { present: number, children: Uint8Array }

/** Where a key's path leaves the internal nodes: an empty slot or a leaf (which may be another key's). */
export interface PathEnd { hash: Uint8Array, depth: number }

/** A leaf an update must rebuild from its key (store.ts finds it by where it sits), by its hash. */
export interface WantedLeaf { hash: Uint8Array, place: NodePlace }

export class StateTree {
  private readonly slabs: Slab[] = []
  private allocated = 0
  private readonly free: number[] = []
  private rootHash: Uint8Array = EMPTY
  /** Record + 1 of the root when it is internal; 0 for an empty tree or a lone leaf. */
  private rootLink = 0
  private nodes = 0
  /** Bumped by every apply(): a plan or a read spanning one is stale. */
  private epoch = 0

  /** `capacity`: most internal nodes the tree may have. */
  constructor (readonly capacity: number) {}

  static readonly recordBytes = RECORD

  get root (): Uint8Array {
    return this.rootHash
  }

  /** Internal nodes. */
  get size (): number {
    return this.nodes
  }

  /** Changes with every apply(). */
  get version (): number {
    return this.epoch
  }

  /**
   * Replaces the tree with the one over `count` leaves given as key hashes sorted ascending
   * (`keyHashes`, 32 bytes each, no duplicates) and their leaf hashes in the same order:
   * bottom-up, one hash per internal node. False (and the tree empty) if it needs more than
   * `capacity` nodes.
   */
  build (keyHashes: Uint8Array, leafHashes: Uint8Array, count: number): boolean {
    this.slabs.length = 0
    this.allocated = 0
    this.free.length = 0
    this.nodes = 0
    this.epoch++
    const nibble = (i: number, depth: number): number => {
      const b = keyHashes[32 * i + (depth >> 1)]!
      return (depth & 1) === 0 ? b >> 4 : b & 0x0f
    }
    // Each level fills its own record only after its children are built, so the children's
    // hashes and links wait in the per-depth arrays.
    const rec = (lo: number, hi: number, depth: number): Sub | null => {
      if (hi - lo === 1) return { hash: leafHashes.subarray(32 * lo, 32 * lo + 32), link: 0 }
      if (depth >= 64) throw new ValidationError('ERR_DUPLICATE_WRITE', 'StateTree.build: duplicate key hash')
      const children = childrenAt[depth]!
      const links = linksAt[depth]!
      children.fill(0)
      links.fill(0)
      let present = 0
      for (let i = lo; i < hi;) {
        const nib = nibble(i, depth)
        let j = i + 1
        while (j < hi && nibble(j, depth) === nib) j++
        const sub = rec(i, j, depth + 1)
        if (sub === null) return null
        children.set(sub.hash, 32 * nib)
        links[nib] = sub.link
        present |= 1 << nib
        i = j
      }
      const r = this.allocate()
      if (r < 0) return null
      return { hash: writeRecord(this.slab(r), offset(r), depth, present), link: r + 1 }
    }
    const root = count === 0 ? { hash: EMPTY, link: 0 } : rec(0, count, 0)
    if (root === null) {
      this.build(keyHashes, leafHashes, 0)
      return false
    }
    // Copied: a lone leaf's hash is a view into the caller's array.
    this.rootHash = root.hash.slice()
    this.rootLink = root.link
    return true
  }

  /**
   * The new root and the records to write for `updates` (one per key hash, any order; `old`
   * the key's current value when known). Changes nothing. A leaf the update must rebuild whose
   * key's value was not given (an insert beside it, a delete of an absent key ending on it) comes from
   * `load`, asked once for all of them before the new tree is computed.
   */
  async plan (updates: PathUpdate[], load: (wanted: WantedLeaf[]) => Promise<LeafNode[]>): Promise<TreePlan> {
    const sorted = [...updates].sort((a, b) => compare(a.keyHash, b.keyHash))
    for (let i = 1; i < sorted.length; i++) {
      if (compare(sorted[i - 1]!.keyHash, sorted[i]!.keyHash) === 0) throw new ValidationError('ERR_DUPLICATE_WRITE', 'StateTree.plan: duplicate key in one update')
    }
    const base = this.epoch
    const leaves = new Map<string, LeafNode>()
    let wanted = this.wanted(sorted)
    // Twice at most: a leaf not where an update's old value said (a value cache out of step
    // with the tree) is found missing by the first computation and loaded for the second.
    for (let attempt = 0; ; attempt++) {
      if (wanted.length > 0) {
        for (const leaf of await load(wanted)) leaves.set(toLatin1(leaf.hash), leaf)
        if (this.epoch !== base) throw new ValidationError('ERR_STALE_PLAN', 'StateTree.plan: the tree changed while leaves were loaded')
      }
      const { plan, missing } = this.compute(sorted, h => leaves.get(toLatin1(h)))
      if (missing.length === 0) return plan
      if (attempt > 0) throw new CorruptionError(`StateTree.plan: ${missing.length} leaves still missing after loading them (the key index or values disagree with the tree)`)
      wanted = missing
    }
  }

  /**
   * The leaves on the updates' paths that an update reaches without its own old value (an
   * insert, or several keys sharing the slot): a walk of the internal nodes, no hashing.
   */
  private wanted (sorted: PathUpdate[]): WantedLeaf[] {
    const out: WantedLeaf[] = []
    // Every key present and its value given (a block of transfers between existing accounts):
    // each touched slot holds its own key's leaf, so no leaf is wanted.
    if (sorted.every(u => u.old !== undefined && u.old !== null)) return out
    const walk = (hash: Uint8Array, link: number, depth: number, lo: number, hi: number): void => {
      if (lo === hi || isEmpty(hash)) return
      if (link === 0) {
        const u = hi - lo === 1 ? sorted[lo]! : undefined
        if (u?.old === undefined || u.old === null) out.push({ hash: hash.slice(), place: { under: sorted[lo]!.keyHash, depth } })
        return
      }
      const s = this.slab(link - 1)
      const at = offset(link - 1)
      const present = s.i32[(at + PRESENT) >> 2]!
      const runs = nibbleRuns(sorted, depth, lo, hi)
      for (let nib = 0; nib < ARITY; nib++) {
        const a = runs[nib]!
        const b = runs[nib + 1]!
        if (a === b || ((present >> nib) & 1) === 0) continue
        walk(s.bytes.subarray(at + CHILDREN + 32 * nib, at + CHILDREN + 32 * nib + 32), s.i32[((at + LINKS) >> 2) + nib]!, depth + 1, a, b)
      }
    }
    walk(this.rootHash, this.rootLink, 0, 0, sorted.length)
    return out
  }

  /** plan() from memory: `leaf` has the leaves loaded so far; every one it lacked is in `missing`, and then the plan is incomplete. */
  private compute (sorted: PathUpdate[], leaf: (hash: Uint8Array) => LeafNode | undefined): { plan: TreePlan, missing: WantedLeaf[] } {
    const freed: number[] = []
    const missing: WantedLeaf[] = []
    let targets = new Int32Array(2 * sorted.length + 64)
    let records = slabOf(targets.length)
    let changes = 0
    // Writes the node whose children and links are at `depth` to the plan as its next node.
    const emit = (record: number, depth: number, present: number): Sub => {
      if (changes === targets.length) {
        const t = new Int32Array(2 * targets.length); t.set(targets); targets = t
        const r = slabOf(t.length); r.bytes.set(records.bytes); records = r
      }
      const k = changes++
      targets[k] = record
      return { hash: writeRecord(records, k * RECORD, depth, present), link: -(k + 1) }
    }

    const newLeaf = (keyHash: Uint8Array, value: Uint8Array): Sub => ({ hash: leafHash(keyHash, sha256(value)), link: 0 })

    // `items`: sorted leaves with values, sharing the path prefix up to `depth`.
    const build = (items: Array<{ keyHash: Uint8Array, value: Uint8Array }>, depth: number): Sub => {
      if (items.length === 0) return { hash: EMPTY, link: 0 }
      if (items.length === 1) return newLeaf(items[0]!.keyHash, items[0]!.value)
      const runs = nibbleRuns(items, depth)
      const children = childrenAt[depth]!
      const links = linksAt[depth]!
      children.fill(0)
      links.fill(0)
      let present = 0
      for (let nib = 0; nib < ARITY; nib++) {
        const lo = runs[nib]!
        const hi = runs[nib + 1]!
        if (lo === hi) continue
        const sub = build(items.slice(lo, hi), depth + 1)
        children.set(sub.hash, 32 * nib)
        links[nib] = sub.link
        present |= 1 << nib
      }
      return emit(-1, depth, present)
    }

    // The updates under a subtree are sorted[lo, hi): ranges, not slices, on the common path.
    const update = (sub: Sub, depth: number, lo: number, hi: number): Sub => {
      if (lo === hi) return sub
      if (isEmpty(sub.hash)) return build(sorted.slice(lo, hi).filter(hasValue), depth)
      if (sub.link !== 0) return updateNode(sub.link - 1, depth, lo, hi)
      // A leaf: the key's own (knownLeaf) or one the store finds through the key index.
      const node = (hi - lo === 1 ? knownLeaf(sub.hash, sorted[lo]!) : undefined) ?? leaf(sub.hash)
      if (node === undefined) {
        missing.push({ hash: sub.hash, place: { under: sorted[lo]!.keyHash, depth } })
        return sub
      }
      // The common case: the key's own leaf, rewritten or deleted.
      const own = hi - lo === 1 ? sorted[lo]! : undefined
      if (own !== undefined && equal32(own.keyHash, node.keyHash)) {
        if (own.value === null) return { hash: EMPTY, link: 0 }
        return Buffer.compare(own.value, node.value) === 0 ? sub : newLeaf(own.keyHash, own.value)
      }
      const ups = sorted.slice(lo, hi)
      const overwritten = ups.some(x => equal32(x.keyHash, node.keyHash))
      const items = ups.filter(hasValue)
      if (!overwritten) {
        items.push({ keyHash: node.keyHash, value: node.value })
        items.sort((a, b) => compare(a.keyHash, b.keyHash))
      }
      if (items.length === 1 && equal32(items[0]!.keyHash, node.keyHash) && Buffer.compare(items[0]!.value, node.value) === 0) return sub
      return build(items, depth)
    }

    const updateNode = (r: number, depth: number, lo: number, hi: number): Sub => {
      const s = this.slab(r)
      const at = offset(r)
      const runs = nibbleRuns(sorted, depth, lo, hi)
      let changed = false
      let present = s.i32[(at + PRESENT) >> 2]!
      const children = childrenAt[depth]!
      const links = linksAt[depth]!
      for (let nib = 0; nib < ARITY; nib++) {
        const a = runs[nib]!
        const b = runs[nib + 1]!
        if (a === b) continue
        const had = ((present >> nib) & 1) === 1
        const child: Sub = had ? { hash: s.bytes.subarray(at + CHILDREN + 32 * nib, at + CHILDREN + 32 * nib + 32), link: s.i32[((at + LINKS) >> 2) + nib]! } : { hash: EMPTY, link: 0 }
        const sub = update(child, depth + 1, a, b)
        if (sub === child || equal32(sub.hash, child.hash)) continue
        if (!changed) {
          // The node's own children and links first: only the touched ones change.
          children.set(s.bytes.subarray(at + CHILDREN, at + PRESENT))
          links.set(s.i32.subarray((at + LINKS) >> 2, ((at + LINKS) >> 2) + ARITY))
          changed = true
        }
        children.set(sub.hash, 32 * nib)
        links[nib] = sub.link
        if (isEmpty(sub.hash)) present &= ~(1 << nib)
        else present |= 1 << nib
      }
      if (!changed) return { hash: s.bytes.subarray(at + HASH, at + HASH + 32), link: r + 1 }
      // Nothing left, or one leaf left, which moves up to its shortest unique prefix: the node goes.
      if (present === 0) { freed.push(r); return { hash: EMPTY, link: 0 } }
      if ((present & (present - 1)) === 0) {
        const nib = 31 - Math.clz32(present)
        if (links[nib] === 0) { freed.push(r); return { hash: children.slice(32 * nib, 32 * nib + 32), link: 0 } }
      }
      return emit(r, depth, present)
    }

    const root = update({ hash: this.rootHash, link: this.rootLink }, 0, 0, sorted.length)
    let added = 0
    for (let k = 0; k < changes; k++) if (targets[k]! < 0) added++
    const plan: TreePlan = { root: root.hash.slice(), changes, targets, records, freed, size: this.nodes + added - freed.length, base: this.epoch, rootLink: root.link }
    return { plan, missing }
  }

  /** Writes a plan made from this tree as it is now. */
  apply (plan: TreePlan): void {
    if (plan.base !== this.epoch) throw new ValidationError('ERR_STALE_PLAN', 'StateTree.apply: the plan was made from another tree')
    // Checked first: a plan half applied would leave a tree no root describes.
    if (plan.size > this.capacity) throw new ValidationError('ERR_STATE_TOO_LARGE', `StateTree.apply: the plan needs ${plan.size} nodes, more than the capacity ${this.capacity}`)
    // Freed first, so new nodes can take their records: no change writes a freed node's record.
    for (const r of plan.freed) this.free.push(r)
    // The records of the plan's new nodes, as they are allocated (children before parents).
    const placed = new Int32Array(plan.changes)
    const link = (l: number): number => (l < 0 ? placed[-l - 1]! + 1 : l)
    for (let k = 0; k < plan.changes; k++) {
      let r = plan.targets[k]!
      if (r < 0) r = this.allocate()
      placed[k] = r
      const s = this.slab(r)
      const at = offset(r)
      const from = k * RECORD
      s.bytes.set(plan.records.bytes.subarray(from, from + LINKS), at)
      for (let nib = 0; nib < ARITY; nib++) s.i32[((at + LINKS) >> 2) + nib] = link(plan.records.i32[((from + LINKS) >> 2) + nib]!)
    }
    this.nodes = plan.size
    this.rootHash = plan.root
    this.rootLink = link(plan.rootLink)
    this.epoch++
  }

  /**
   * The internal nodes on `keyHash`'s path from the root (copies of their children, for a
   * proof) and where the path leaves them: an empty slot, or a leaf of some key.
   */
  read (keyHash: Uint8Array): { steps: PathStep[], end: PathEnd } {
    const steps: PathStep[] = []
    let hash = this.rootHash
    let link = this.rootLink
    for (let depth = 0; ; depth++) {
      if (link === 0) return { steps, end: { hash: isEmpty(hash) ? EMPTY : hash.slice(), depth } }
      const r = link - 1
      const s = this.slab(r)
      const at = offset(r)
      steps.push({ present: s.i32[(at + PRESENT) >> 2]!, children: s.bytes.slice(at + CHILDREN, at + PRESENT) })
      const nib = nibbleAt(keyHash, depth)
      hash = s.bytes.subarray(at + CHILDREN + 32 * nib, at + CHILDREN + 32 * nib + 32)
      link = s.i32[((at + LINKS) >> 2) + nib]!
    }
  }

  /**
   * Walks the whole tree and checks it: each record's stored hash is the hash of its children
   * and the one its parent holds, links sit only on present children, the shape is canonical
   * (two or more children, or one internal child), every record is reached once and none is
   * free, `size` records in all, and no record lost (every one in the tree or free). Throws on the first fault. O(size): for tests and checks.
   */
  audit (): void {
    const free = new Set(this.free)
    const seen = new Set<number>()
    const walk = (hash: Uint8Array, link: number, depth: number): void => {
      if (link === 0) return
      const r = link - 1
      if (r < 0 || r >= this.allocated || free.has(r) || seen.has(r)) throw new CorruptionError(`tree audit: depth ${depth} links to record ${r}, which is out of range, free or linked twice`)
      seen.add(r)
      const s = this.slab(r)
      const at = offset(r)
      if (!equal32(s.bytes.subarray(at + HASH, at + HASH + 32), hash)) throw new CorruptionError(`tree audit: record ${r} (depth ${depth}) holds another hash than its parent's link`)
      if (!equal32(this.hashRecord(r), hash)) throw new CorruptionError(`tree audit: record ${r} (depth ${depth}) is not the hash of its children`)
      const present = s.i32[(at + PRESENT) >> 2]!
      let children = 0
      let internal = 0
      for (let nib = 0; nib < ARITY; nib++) {
        const child = s.bytes.subarray(at + CHILDREN + 32 * nib, at + CHILDREN + 32 * nib + 32)
        const l = s.i32[((at + LINKS) >> 2) + nib]!
        const has = ((present >> nib) & 1) === 1
        if (has === isEmpty(child)) throw new CorruptionError(`tree audit: record ${r} child ${nib}: present bit ${has ? 1 : 0} with ${has ? 'an empty' : 'a non-empty'} hash`)
        if (!has && l !== 0) throw new CorruptionError(`tree audit: record ${r} links absent child ${nib}`)
        if (has) children++
        if (l !== 0) internal++
        walk(child, l, depth + 1)
      }
      if (children < 2 && internal !== 1) throw new CorruptionError(`tree audit: record ${r} (depth ${depth}) has a lone leaf child or none: not canonical`)
    }
    walk(this.rootHash, this.rootLink, 0)
    if (seen.size !== this.nodes) throw new CorruptionError(`tree audit: ${seen.size} records reached, size says ${this.nodes}`)
    if (free.size !== this.free.length) throw new CorruptionError('tree audit: a record is on the free list twice')
    if (seen.size + free.size !== this.allocated) throw new CorruptionError(`tree audit: ${this.allocated - seen.size - free.size} records neither in the tree nor free (leaked)`)
  }

  private hashRecord (r: number): Uint8Array {
    scratchChildren.set(this.slab(r).bytes.subarray(offset(r) + CHILDREN, offset(r) + PRESENT))
    return sha256(scratch)
  }

  private slab (r: number): Slab {
    return this.slabs[r >>> SLAB_BITS]!
  }

  /** A free record (-1 when `capacity` records are in use). */
  private allocate (): number {
    const f = this.free.pop()
    if (f !== undefined) { this.nodes++; return f }
    if (this.allocated >= this.capacity) return -1
    const r = this.allocated++
    if ((r & SLAB_MASK) === 0) {
      this.slabs.push(slabOf(Math.min(SLAB_RECORDS, this.capacity - r)))
    }
    this.nodes++
    return r
  }
}

/**
 * A key's value (null: absent) and its proof (merkle.ts SmtProof) from read()'s steps on its
 * path and the leaf where the path ends (null: an empty slot), which may be another key's.
 */
export function pathProof (keyHash: Uint8Array, steps: PathStep[], leaf: LeafNode | null): { value: Uint8Array | null, proof: SmtProof } {
  // From the root down, 15 hashes per level: the children off the key's path.
  const siblings: Uint8Array[] = []
  steps.forEach((step, depth) => {
    const nib = nibbleAt(keyHash, depth)
    for (let i = 0; i < ARITY; i++) {
      if (i !== nib) siblings.push(((step.present >> i) & 1) === 1 ? step.children.slice(32 * i, 32 * i + 32) : new Uint8Array(0))
    }
  })
  const mine = leaf !== null && equal32(leaf.keyHash, keyHash)
  return { value: mine ? leaf.value : null, proof: { siblings, other: leaf === null || mine ? null : { keyHash: leaf.keyHash, valueHash: sha256(leaf.value) } } }
}

/**
 * The leaf at a position reached by one update whose old value the caller gave: usually that
 * key's own, rebuilt from the value and recognized by its hash, so it needs no read.
 */
function knownLeaf (hash: Uint8Array, u: PathUpdate): LeafNode | undefined {
  if (u.old === undefined || u.old === null) return undefined
  const h = leafHash(u.keyHash, sha256(u.old))
  return equal32(h, hash) ? { kind: 'leaf', hash: h, keyHash: u.keyHash, value: u.old } : undefined
}

/**
 * Writes the node whose children and links wait at `depth` (childrenAt, linksAt) as a record at
 * `at` in `s` (the tree's, or a plan's) and returns its hash, computed from those children.
 */
function writeRecord (s: Slab, at: number, depth: number, present: number): Uint8Array {
  const children = childrenAt[depth]!
  s.bytes.set(children, at + CHILDREN)
  s.i32[(at + PRESENT) >> 2] = present
  s.i32.set(linksAt[depth]!, (at + LINKS) >> 2)
  scratchChildren.set(children)
  const hash = sha256(scratch)
  s.bytes.set(hash, at + HASH)
  return hash
}

function slabOf (records: number): Slab {
  const buf = new ArrayBuffer(records * RECORD)
  return { bytes: new Uint8Array(buf), i32: new Int32Array(buf) }
}

function offset (r: number): number {
  return (r & SLAB_MASK) * RECORD
}


function hasValue (u: PathUpdate): u is { keyHash: Uint8Array, value: Uint8Array } {
  return u.value !== null
}
