import { toHex, toLatin1 } from '../codec/index.js'
import { CorruptionError, ValidationError } from '../errors.js'
import type { BatchOp, LevelDb, StateProof, StateWrite, Sublevel } from './api.js'
import { isEmpty, leafHash, makeLeaf, sha256, type LeafNode, type NodePlace, type PathUpdate } from './merkle.js'
import { pathProof, StateTree, type PathStep, type TreePlan } from './tree.js'
import { ValueCache } from './value-cache.js'

export interface StateStoreOptions {
  /**
   * Most internal tree nodes the state may have (default 4,000,000; 616 bytes each in slabs
   * allocated as the tree grows: ~232 MB for the ~377,000 of a 1M-key state). The whole tree
   * is in memory (see the class comment), so this bounds the state: a block that would pass it
   * is refused with ERR_STATE_TOO_LARGE before anything is written.
   */
  maxTreeNodes?: number
  /**
   * Flat state values (and known-absent keys) kept in memory (default 2,500,000; open() loads
   * up to half, so a state of up to ~1.25M keys stays whole in memory). Off the JS heap in
   * 128-byte records allocated as the cache fills (~128 MB for a 1M-key state, 320 MB full);
   * values over 92 bytes go to a small on-heap LRU (value-cache.ts).
   */
  valueCacheSize?: number
}

export const DEFAULT_VALUE_CACHE_SIZE = 2_500_000
export const DEFAULT_MAX_TREE_NODES = 4_000_000

/** An update computed by prepare() and not yet committed. */
interface Prepared {
  plan: TreePlan
  writes: StateWrite[]
  keyHashes: Uint8Array[]
  ops: BatchOp[]
}

/** Flat entries read per step while open() rebuilds the tree (the step's key and leaf hashes go to growing arrays). */
const REBUILD_GROW = 1 << 16
/** Index entries written per batch while open() builds the key index of an older layout's state. */
const INDEX_BATCH = 10_000
/** In the 'keys' sublevel (whose other keys are 32-byte key hashes): the index is complete. */
const INDEX_READY = Uint8Array.of(0x01)

/** What open() did to bring the tree into memory. */
export interface OpenStats {
  /** Keys in the state. */
  keys: number
  /** Internal nodes of its tree. */
  nodes: number
  /** Values loaded into the value cache. */
  values: number
  /** Entries written to the key index (an older layout's state had none). */
  indexed: number
  /** The stored tree of an older layout was deleted. */
  droppedOldTree: boolean
  ms: number
}

/**
 * The authenticated state over LevelDB:
 *   'state' sublevel: flat key -> value: the state itself, written by every block in the
 *                     block's own batch;
 *   'keys' sublevel:  key hash -> key, for every key in the state (written only when a key is
 *                     created or deleted), so the leaf at a tree position can be found from
 *                     its path.
 * The sparse Merkle tree over it (merkle.ts) lives in memory only: its internal nodes in
 * off-heap records linked by position (tree.ts), its leaves rebuilt from the flat values when needed
 * (a leaf is a hash of its key's hash and value). open() rebuilds the tree from the flat
 * state, bottom-up; the ledger checks the root against its head block's state root.
 *
 * Why no tree nodes in LevelDB: storing them was most of what a large state cost. With every
 * block writing its new nodes, a stale-node index and pruning, a 4-validator testnet at 1M
 * accounts committed 1,854.9 tx/s; a copy that stored no tree nodes committed 2,763.8
 * (docs/performance.md, twenty-second session). Writing internal nodes only every 64 blocks,
 * with a journal between, won back part of it, and pruning what each flush replaced still cost
 * LevelDB a third of a 1M block's CPU in one process (twenty-third session). A tree in memory
 * costs RAM (~230 bytes per key for its internal nodes) and a rebuild at every start (~0.5 s
 * of CPU per 100k keys), and its only roots are the current one: older states are not
 * provable, and a proof that a commit overtakes answers ERR_UNKNOWN_ROOT and is asked again.
 *
 * Block commit is two-phase so the ledger can write the block, its receipts and its state in
 * ONE atomic batch: prepare(writes) computes the new root and the batch ops without writing,
 * the ledger writes them, then commitPrepared(root) makes the new root current in memory.
 * prepare is always relative to the committed root (no pipelining of two uncommitted blocks).
 */
export class StateStore {
  /** The current tree (its version changes with every commit: a read that spans one is stale). */
  private readonly tree: StateTree
  /**
   * Committed flat values by key hash, null for a key known to be absent. Execution reads every
   * touched key (a LevelDB get each was the top frame of a validator under load); the cache is
   * only updated in commitPrepared, after the block's batch is durable, so it never runs ahead
   * of the disk. Off the JS heap (value-cache.ts): with the whole 1M-account state in it, a
   * Map of strings was two million heap objects for every major GC to mark.
   */
  private values: ValueCache
  private pending = new Map<string, Prepared>()
  private openStats: OpenStats = { keys: 0, nodes: 0, values: 0, indexed: 0, droppedOldTree: false, ms: 0 }

  private constructor (private readonly db: LevelDb, private readonly flat: Sublevel, private readonly keys: Sublevel, private readonly opts: StateStoreOptions) {
    this.tree = StateStore.newTree(opts)
    this.values = new ValueCache(opts.valueCacheSize ?? DEFAULT_VALUE_CACHE_SIZE)
  }

  private static newTree (opts: StateStoreOptions): StateTree {
    return new StateTree(opts.maxTreeNodes ?? DEFAULT_MAX_TREE_NODES)
  }

  /**
   * Writes `writes` (puts only) straight to the flat state and the key index, in batches of
   * `batchSize`, then rebuilds the tree from the whole state: how a genesis allocation is
   * loaded. A million inserts through prepare() would find most of their neighbours' leaves
   * through the index, one seek each; the bottom-up build needs none. Writing a key again with
   * the same value changes nothing, so a load a crash cut short can simply be done again.
   * Only when no prepared update is pending.
   */
  async load (writes: StateWrite[], batchSize: number): Promise<void> {
    if (this.pending.size > 0) throw new ValidationError('ERR_PREPARE_PENDING', 'load: a prepared update is not committed yet')
    for (let i = 0; i < writes.length; i += batchSize) {
      const ops: BatchOp[] = []
      for (const w of writes.slice(i, i + batchSize)) {
        if (w.value === null) throw new ValidationError('ERR_BAD_ARGUMENT', `load: key ${toHex(w.key)} has no value (load only puts)`)
        ops.push({ type: 'put', sublevel: this.flat, key: w.key, value: w.value })
        ops.push({ type: 'put', sublevel: this.keys, key: sha256(w.key), value: w.key })
      }
      await this.db.batch(ops)
    }
    await this.rebuild(false)
  }

  /**
   * Opens the state and rebuilds its tree in memory from the flat values (see stats for what
   * it did). A directory of an older layout (tree nodes in an 'smt' sublevel, no key index) is
   * brought to this one: the index is written and the stored tree deleted.
   */
  static async open (db: LevelDb, opts: StateStoreOptions = {}): Promise<StateStore> {
    const t0 = performance.now()
    const flat = db.sublevel<Uint8Array, Uint8Array>('state', { keyEncoding: 'view', valueEncoding: 'view' })
    const keys = db.sublevel<Uint8Array, Uint8Array>('keys', { keyEncoding: 'view', valueEncoding: 'view' })
    const store = new StateStore(db, flat, keys, opts)
    const indexReady = (await keys.get(INDEX_READY)) !== undefined
    if (!indexReady) await keys.clear()
    await store.rebuild(!indexReady)
    // Older layouts stored the tree; nothing reads it now.
    const oldTree = db.sublevel<Uint8Array, Uint8Array>('smt', { keyEncoding: 'view', valueEncoding: 'view' })
    let droppedOldTree = false
    for await (const _ of oldTree.keys({ limit: 1 })) droppedOldTree = true
    if (droppedOldTree) await oldTree.clear()
    store.openStats = { ...store.openStats, droppedOldTree, ms: Math.round(performance.now() - t0) }
    return store
  }

  /**
   * Reads the whole flat state once: hashes every key and value, fills the value cache (up to
   * half its capacity: the other half is for the keys blocks write), writes the key index when
   * `index` (and marks it complete), then builds the tree from the leaves sorted by key hash.
   */
  private async rebuild (index: boolean): Promise<void> {
    this.values = new ValueCache(this.values.capacity)
    let keyHashes = new Uint8Array(32 * REBUILD_GROW)
    let leafHashes = new Uint8Array(32 * REBUILD_GROW)
    let count = 0
    let values = 0
    let indexed = 0
    const valueLimit = Math.floor(this.values.capacity / 2)
    let batch: BatchOp[] = []
    for await (const [k, v] of this.flat.iterator()) {
      if (count === keyHashes.length / 32) {
        const kh = new Uint8Array(keyHashes.length * 2); kh.set(keyHashes); keyHashes = kh
        const lh = new Uint8Array(leafHashes.length * 2); lh.set(leafHashes); leafHashes = lh
      }
      const keyHash = sha256(k)
      const value = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      keyHashes.set(keyHash, 32 * count)
      leafHashes.set(leafHash(keyHash, sha256(value)), 32 * count)
      count++
      if (values < valueLimit) { this.values.set(keyHash, value); values++ }
      if (index) {
        batch.push({ type: 'put', sublevel: this.keys, key: keyHash, value: Uint8Array.from(k) })
        if (batch.length >= INDEX_BATCH) { await this.db.batch(batch); indexed += batch.length; batch = [] }
      }
    }
    if (index) {
      batch.push({ type: 'put', sublevel: this.keys, key: INDEX_READY, value: new Uint8Array(0) })
      await this.db.batch(batch)
      indexed += batch.length - 1
    }
    const order = sortedOrder(keyHashes, count)
    const sortedKeys = new Uint8Array(32 * count)
    const sortedLeaves = new Uint8Array(32 * count)
    for (let i = 0; i < count; i++) {
      const j = order[i]!
      sortedKeys.set(keyHashes.subarray(32 * j, 32 * j + 32), 32 * i)
      sortedLeaves.set(leafHashes.subarray(32 * j, 32 * j + 32), 32 * i)
    }
    if (!this.tree.build(sortedKeys, sortedLeaves, count)) throw tooLarge(this.tree.capacity)
    this.openStats = { keys: count, nodes: this.tree.size, values, indexed, droppedOldTree: false, ms: 0 }
  }

  /** What open() did: keys, tree nodes, values cached, index entries written, and its time. */
  get stats (): OpenStats {
    return this.openStats
  }

  /** The committed state root (32 zero bytes for an empty state). */
  root (): Uint8Array {
    return this.tree.root
  }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    const kh = sha256(key)
    const hit = this.values.get(kh)
    if (hit !== undefined) return hit ?? undefined
    return this.remember(kh, await this.flat.get(key)) ?? undefined
  }

  /**
   * Caches a value just read from LevelDB (undefined = absent) and returns it as a plain view.
   * A block committed while we read may have changed this key: only an entry it did not set is filled.
   */
  private remember (keyHash: Uint8Array, v: Uint8Array | undefined): Uint8Array | null {
    const value = v === undefined ? null : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    if (!this.values.has(keyHash)) this.values.set(keyHash, value)
    return value
  }

  /**
   * Loads the committed values of `keys` into the value cache with one LevelDB getMany. A
   * block's execution reads its accounts one await at a time; for cold accounts each was a
   * separate LevelDB round trip while the event loop idled (a quarter of a validator's time at
   * 200k accounts).
   */
  async prefetch (keys: Uint8Array[]): Promise<void> {
    const missing: Uint8Array[] = []
    const hashes: Uint8Array[] = []
    const seen = new Set<string>()
    for (const key of keys) {
      const kh = sha256(key)
      const k = toLatin1(kh)
      if (seen.has(k) || this.values.has(kh)) continue
      seen.add(k)
      missing.push(key)
      hashes.push(kh)
    }
    if (missing.length === 0) return
    const got = await this.flat.getMany(missing)
    got.forEach((v, i) => { this.remember(hashes[i]!, v) })
  }

  /** Value of `key` under root `root`, read through the tree: only the current root is kept. */
  async getAt (root: Uint8Array, key: Uint8Array): Promise<Uint8Array | null> {
    const keyHash = sha256(key)
    const { steps, leaf } = await this.readAt(root, keyHash)
    return pathProof(keyHash, steps, leaf).value
  }

  /**
   * Reads `keyHash`'s path in the tree at root hash `root`, which must be the current root: the
   * internal nodes on it and the leaf where it ends (null: an empty slot). The leaf may need
   * LevelDB (the key index and its value); a commit in the meantime makes the read stale, so it
   * then ends in ERR_UNKNOWN_ROOT, as a read of any older root does.
   */
  private async readAt (root: Uint8Array, keyHash: Uint8Array): Promise<{ steps: PathStep[], leaf: LeafNode | null }> {
    if (Buffer.compare(root, this.tree.root) !== 0) {
      if (isEmpty(root)) return { steps: [], leaf: null }
      throw unknownRoot(root, false)
    }
    const epoch = this.tree.version
    const { steps, end } = this.tree.read(keyHash)
    if (isEmpty(end.hash)) return { steps, leaf: null }
    const leaf = await this.leafAt(end.hash, { under: keyHash, depth: end.depth })
    if (this.tree.version !== epoch) throw unknownRoot(root, true)
    return { steps, leaf }
  }

  /**
   * The leaf with hash `hash` at a position of the current tree that holds no internal node:
   * the one key in the state under that path (the key index, one seek), with its committed
   * value. Its hash must be the one the tree holds there.
   */
  private async leafAt (hash: Uint8Array, place: NodePlace): Promise<LeafNode> {
    const { gte, lt } = prefixRange(place.under, place.depth)
    let found: { keyHash: Uint8Array, key: Uint8Array } | null = null
    // Two: the one-byte INDEX_READY key may sort into the range first.
    for await (const [kh, key] of this.keys.iterator({ gte, ...(lt === null ? {} : { lt }), limit: 2 })) {
      if (kh.length === 32) { found = { keyHash: Uint8Array.from(kh), key: Uint8Array.from(key) }; break }
    }
    if (found === null) throw new CorruptionError(`state key index has no key under the path of tree leaf ${toHex(hash)} (depth ${place.depth})`)
    const hit = this.values.get(found.keyHash)
    const value = hit !== undefined ? hit : this.remember(found.keyHash, await this.flat.get(found.key))
    if (value === null) throw new CorruptionError(`state key index lists key ${toHex(found.key)}, which has no value`)
    const leaf = makeLeaf(found.keyHash, value)
    if (Buffer.compare(leaf.hash, hash) !== 0) throw new CorruptionError(`state tree leaf ${toHex(hash)} (depth ${place.depth}) does not match key ${toHex(found.key)} and its value`)
    return leaf
  }

  /**
   * New root and the batch operations (flat state, key index) for `writes` applied to the
   * committed state. Writes nothing.
   */
  async prepare (writes: StateWrite[]): Promise<{ root: Uint8Array, ops: BatchOp[] }> {
    const p = await this.compute(writes)
    this.pending.set(toHex(p.plan.root), p)
    return { root: p.plan.root, ops: p.ops }
  }

  private async compute (writes: StateWrite[]): Promise<Prepared> {
    const seen = new Set<string>()
    const updates: PathUpdate[] = []
    for (const w of writes) {
      const k = toHex(w.key)
      if (seen.has(k)) throw new ValidationError('ERR_DUPLICATE_WRITE', `state key ${k} is written twice in one block`)
      seen.add(k)
      updates.push({ keyHash: sha256(w.key), value: w.value })
    }
    // Every key's committed value (execution has read nearly all of them): the tree rebuilds a
    // touched key's leaf from it, and the key index changes when a key comes or goes.
    const unknown: number[] = []
    updates.forEach((u, i) => {
      u.old = this.values.get(u.keyHash)
      if (u.old === undefined) unknown.push(i)
    })
    if (unknown.length > 0) {
      const got = await this.flat.getMany(unknown.map(i => writes[i]!.key))
      unknown.forEach((i, j) => { updates[i]!.old = this.remember(updates[i]!.keyHash, got[j]) })
    }
    // Leaves the update must rebuild and whose keys are not its own (an insert's neighbour, the
    // leaf where a delete of an absent key ends) come from the key index.
    const plan = await this.tree.plan(updates, async wanted => await Promise.all(wanted.map(async w => await this.leafAt(w.hash, w.place))))
    if (plan.size > this.tree.capacity) throw tooLarge(this.tree.capacity)
    const ops: BatchOp[] = []
    writes.forEach((w, i) => {
      const u = updates[i]!
      if (w.value === null) {
        ops.push({ type: 'del', sublevel: this.flat, key: w.key })
        if (u.old !== null) ops.push({ type: 'del', sublevel: this.keys, key: u.keyHash })
      } else {
        ops.push({ type: 'put', sublevel: this.flat, key: w.key, value: w.value })
        if (u.old === null) ops.push({ type: 'put', sublevel: this.keys, key: u.keyHash, value: w.key })
      }
    })
    return { plan, writes, keyHashes: updates.map(u => u.keyHash), ops }
  }

  /** After the batch from prepare() is durably written: `root` becomes the committed root. */
  commitPrepared (root: Uint8Array): void {
    const p = this.pending.get(toHex(root))
    if (p === undefined) throw new ValidationError('ERR_NOT_PREPARED', `state root ${toHex(root)} was not prepared`)
    this.pending = new Map()
    this.tree.apply(p.plan)
    p.writes.forEach((w, i) => { this.values.set(p.keyHashes[i]!, w.value) })
  }

  /** Inclusion or non-inclusion proof of `key` under the committed root (the only one kept). */
  async prove (key: Uint8Array, root: Uint8Array = this.tree.root): Promise<StateProof> {
    const keyHash = sha256(key)
    const { steps, leaf } = await this.readAt(root, keyHash)
    return { key, ...pathProof(keyHash, steps, leaf) }
  }
}

function tooLarge (capacity: number): ValidationError {
  return new ValidationError('ERR_STATE_TOO_LARGE', `the state tree would need more than ${capacity} internal nodes, the most this node holds in memory; raise storage.maxStateTreeNodes (each takes ${StateTree.recordBytes} bytes)`)
}

function unknownRoot (root: Uint8Array, moved: boolean): ValidationError {
  return new ValidationError('ERR_UNKNOWN_ROOT', moved
    ? `state root ${toHex(root)} stopped being current during the read (a block committed); ask again`
    : `state root ${toHex(root)} is not the current state root; only the current state is kept`)
}

/**
 * Key-index bounds of the keys whose hash starts with the first `depth` nibbles of `path`
 * (`lt` null: up to the end).
 */
function prefixRange (path: Uint8Array, depth: number): { gte: Uint8Array, lt: Uint8Array | null } {
  const gte = new Uint8Array(32)
  const whole = depth >> 1
  gte.set(path.subarray(0, whole))
  if ((depth & 1) === 1) gte[whole] = path[whole]! & 0xf0
  // The bound after the prefix: add one at its last nibble, carrying.
  const lt = gte.slice()
  let i = (depth & 1) === 1 ? whole : whole - 1
  let add = (depth & 1) === 1 ? 0x10 : 0x01
  for (; i >= 0; i--) {
    const v = lt[i]! + add
    lt[i] = v & 0xff
    if (v <= 0xff) break
    add = 1
  }
  if (depth === 0 || i < 0) return { gte, lt: null }
  lt.fill(0, i + 1)
  return { gte, lt }
}

/** Indices 0..count-1 ordered by the 32-byte key hashes at those positions. */
function sortedOrder (keyHashes: Uint8Array, count: number): Uint32Array {
  // By the first 4 bytes (key hashes are uniform, so ties are rare), then the whole hash.
  const head = new Uint32Array(count)
  for (let i = 0; i < count; i++) {
    const o = 32 * i
    head[i] = ((keyHashes[o]! << 24) | (keyHashes[o + 1]! << 16) | (keyHashes[o + 2]! << 8) | keyHashes[o + 3]!) >>> 0
  }
  const order = new Uint32Array(count)
  for (let i = 0; i < count; i++) order[i] = i
  return order.sort((a, b) => {
    const d = head[a]! - head[b]!
    if (d !== 0) return d
    return Buffer.compare(keyHashes.subarray(32 * a, 32 * a + 32), keyHashes.subarray(32 * b, 32 * b + 32))
  })
}
