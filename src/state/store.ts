import { toHex, utf8 } from '../codec/index.js'
import { CorruptionError, ValidationError } from '../errors.js'
import type { BatchOp, LevelDb, StateProof, StateWrite, Sublevel } from './api.js'
import { Lru } from './lru.js'
import { decodeNode, EMPTY, encodeNode, isEmpty, lookup, nodeKey as cacheKey, proveKey, sha256, updateTree, type TreeNode } from './merkle.js'

export interface StateStoreOptions {
  /**
   * Tree nodes kept decoded in memory (default 1,000,000, a few hundred MB at most). With
   * 200,000 a 100k-account state missed the cache on every cold recipient's path: the benchmark's
   * closed loop at 100k accounts went from 307 to 384 tx/s with 1,000,000.
   */
  nodeCacheSize?: number
  /** Flat state values (and known-absent keys) kept in memory (default 200,000). */
  valueCacheSize?: number
}

/** Tree nodes read per LevelDB getMany while warming the cache. */
const WARM_CHUNK = 4096

/** Key of the current root in the 'smt' sublevel; node keys are 32-byte hashes, so no clash. */
const ROOT_KEY = utf8('root')

/**
 * The authenticated state over LevelDB:
 *   'state' sublevel: flat key -> value, for fast reads by execution and the API;
 *   'smt' sublevel:   tree nodes by hash (merkle.ts), plus the current root under 'root'.
 * Block commit is two-phase so the ledger can write the block, its receipts and its state in
 * ONE atomic batch: prepare(writes) computes the new root and the batch ops without writing,
 * the ledger writes them, then commitPrepared(root) makes the new root current in memory.
 * prepare is always relative to the committed root (no pipelining of two uncommitted blocks).
 * Old nodes are never deleted (no pruning yet), so old roots stay provable.
 */
export class StateStore {
  private currentRoot: Uint8Array
  private readonly cache: Lru<string, TreeNode>
  /**
   * Committed flat values by hex key, null for a key known to be absent. Execution reads every
   * touched key (a LevelDB get each was the top frame of a validator under load); the cache is
   * only updated in commitPrepared, after the block's batch is durable, so it never runs ahead
   * of the disk.
   */
  private readonly values: Lru<string, Uint8Array | null>
  private pending = new Map<string, { created: TreeNode[], replaced: Uint8Array[], writes: StateWrite[] }>()

  private constructor (private readonly flat: Sublevel, private readonly nodes: Sublevel, root: Uint8Array, opts: StateStoreOptions) {
    this.currentRoot = root
    this.cache = new Lru(opts.nodeCacheSize ?? 1_000_000)
    this.values = new Lru(opts.valueCacheSize ?? 200_000)
  }

  static async open (db: LevelDb, opts: StateStoreOptions = {}): Promise<StateStore> {
    const flat = db.sublevel<Uint8Array, Uint8Array>('state', { keyEncoding: 'view', valueEncoding: 'view' })
    const nodes = db.sublevel<Uint8Array, Uint8Array>('smt', { keyEncoding: 'view', valueEncoding: 'view' })
    const stored = await nodes.get(ROOT_KEY)
    if (stored !== undefined && stored.length !== 32) throw new CorruptionError(`state root pointer has ${stored.length} bytes, expected 32`)
    const store = new StateStore(flat, nodes, stored === undefined ? EMPTY : new Uint8Array(stored), opts)
    // Fail at open, not at the first block, if the root's node is missing.
    if (stored !== undefined && !isEmpty(stored)) await store.load(stored)
    return store
  }

  /** The committed state root (32 zero bytes for an empty state). */
  root (): Uint8Array {
    return this.currentRoot
  }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    const k = toHex(key)
    const hit = this.values.get(k)
    if (hit !== undefined) return hit ?? undefined
    return this.remember(k, await this.flat.get(key)) ?? undefined
  }

  /**
   * Caches a value just read from LevelDB (undefined = absent) and returns it as a plain view.
   * A block committed while we read may have changed this key: only an entry it did not set is filled.
   */
  private remember (k: string, v: Uint8Array | undefined): Uint8Array | null {
    const value = v === undefined ? null : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    if (this.values.get(k) === undefined) this.values.set(k, value)
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
    const seen = new Set<string>()
    for (const key of keys) {
      const k = toHex(key)
      if (seen.has(k) || this.values.get(k) !== undefined) continue
      seen.add(k)
      missing.push(key)
    }
    if (missing.length === 0) return
    const got = await this.flat.getMany(missing)
    got.forEach((v, i) => { this.remember(toHex(missing[i]!), v) })
  }

  /** Value of `key` under an older (or the current) root, read from the tree. */
  async getAt (root: Uint8Array, key: Uint8Array): Promise<Uint8Array | null> {
    return await lookup(root, sha256(key), async h => await this.load(h))
  }

  /**
   * New root and the batch operations (flat state, new tree nodes, root pointer) for `writes`
   * applied to the committed state. Writes nothing.
   */
  async prepare (writes: StateWrite[]): Promise<{ root: Uint8Array, ops: BatchOp[] }> {
    const seen = new Set<string>()
    for (const w of writes) {
      const k = toHex(w.key)
      if (seen.has(k)) throw new ValidationError('ERR_DUPLICATE_WRITE', `state key ${k} is written twice in one block`)
      seen.add(k)
    }
    const { root, created, replaced } = await updateTree(this.currentRoot, writes.map(w => ({ keyHash: sha256(w.key), value: w.value })),
      async hs => await this.loadMany(hs), (_h, k) => this.cache.get(k))
    const ops: BatchOp[] = []
    for (const w of writes) {
      ops.push(w.value === null
        ? { type: 'del', sublevel: this.flat, key: w.key }
        : { type: 'put', sublevel: this.flat, key: w.key, value: w.value })
    }
    for (const n of created) ops.push({ type: 'put', sublevel: this.nodes, key: n.hash, value: encodeNode(n) })
    ops.push({ type: 'put', sublevel: this.nodes, key: ROOT_KEY, value: root })
    this.pending.set(toHex(root), { created, replaced, writes })
    return { root, ops }
  }

  /** After the batch from prepare() is durably written: `root` becomes the committed root. */
  commitPrepared (root: Uint8Array): void {
    const p = this.pending.get(toHex(root))
    if (p === undefined) throw new ValidationError('ERR_NOT_PREPARED', `state root ${toHex(root)} was not prepared`)
    // Old versions leave the cache at once: kept, they filled it with nodes only old-root proofs
    // read (LevelDB serves those): validator RSS at 500 tx/s for 60 s was 457-505 MB with them,
    // 300-388 MB without. `created` after `replaced`: see TreeUpdate.
    for (const h of p.replaced) this.cache.delete(cacheKey(h))
    for (const n of p.created) this.cache.set(cacheKey(n.hash), n)
    for (const w of p.writes) this.values.set(toHex(w.key), w.value)
    this.pending = new Map()
    this.currentRoot = root
  }

  /** Inclusion or non-inclusion proof of `key` under the committed root (or `root`). */
  async prove (key: Uint8Array, root: Uint8Array = this.currentRoot): Promise<StateProof> {
    const { value, proof } = await proveKey(root, sha256(key), async h => await this.load(h))
    return { key, value, proof }
  }

  get cachedNodes (): number {
    return this.cache.size
  }

  /**
   * Loads the top `levels` levels of the committed tree into the node cache, level by level, up
   * to half the cache (the cache keeps between half and all of its capacity, so more could push
   * out the levels loaded first) or until `budgetMs` has passed. Returns how many nodes it loaded.
   *
   * Why: a validator starts with an empty cache, and every account its first blocks touch costs
   * a LevelDB read per tree level, one batch per level with an await in between. Why only the
   * top levels: 5 levels (at most 69,905 nodes) are the whole tree up to ~50k accounts and every
   * internal node at 1M; loading the whole 1M-account tree (half the cache, 500k nodes) made
   * each validator's RSS 1.9 GB instead of 1.3 and its throughput lower (375.5 against 430.9
   * tx/s, 60 s closed loop), since most of a block's cold reads at 1M are leaves seen once.
   */
  async warm (budgetMs: number, levels = 5): Promise<number> {
    const deadline = performance.now() + budgetMs
    const limit = Math.floor(this.cache.capacity / 2)
    let loaded = 0
    let frontier = isEmpty(this.currentRoot) ? [] : [this.currentRoot]
    for (let level = 0; level < levels && frontier.length > 0 && loaded < limit && performance.now() < deadline; level++) {
      const next: Uint8Array[] = []
      for (let i = 0; i < frontier.length && loaded < limit && performance.now() < deadline; i += WARM_CHUNK) {
        const chunk = frontier.slice(i, Math.min(i + WARM_CHUNK, i + limit - loaded))
        for (const node of await this.loadMany(chunk)) {
          if (node.kind === 'internal') for (const c of node.children) if (!isEmpty(c)) next.push(c)
        }
        loaded += chunk.length
      }
      frontier = next
    }
    return loaded
  }

  private async loadMany (hashes: Uint8Array[]): Promise<TreeNode[]> {
    const values = await this.nodes.getMany(hashes)
    return values.map((bytes, i) => this.checkNode(hashes[i]!, bytes))
  }

  private checkNode (hash: Uint8Array, bytes: Uint8Array | undefined): TreeNode {
    if (bytes === undefined) throw new CorruptionError(`state tree node ${toHex(hash)} is missing`)
    // Plain Uint8Array views (LevelDB hands out Buffers): values must compare equal to callers'.
    const node = decodeNode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    if (node === null || Buffer.compare(node.hash, hash) !== 0) throw new CorruptionError(`state tree node ${toHex(hash)} is corrupt`)
    this.cache.set(cacheKey(hash), node)
    return node
  }

  private async load (hash: Uint8Array): Promise<TreeNode> {
    const k = cacheKey(hash)
    const hit = this.cache.get(k)
    if (hit !== undefined) return hit
    return this.checkNode(hash, await this.nodes.get(hash))
  }
}

