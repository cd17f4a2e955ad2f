import type { AbstractBatchOptions } from 'abstract-level'
import { readU64, toHex, toLatin1, utf8, writeU64 } from '../codec/index.js'
import { CorruptionError, ValidationError } from '../errors.js'
import type { BatchOp, LevelDb, StateProof, StateWrite, Sublevel } from './api.js'
import { arenaBytes } from './arena.js'
import { decodeJournal, encodeJournal } from './journal.js'
import { ARITY, childRef, decodeNode, hasChild, EMPTY_ROOT, encodeNode, isEmpty, lookup, nodeKey, proveKey, sha256, updateTree, type NodeRef, type PathUpdate, type TreeNode } from './merkle.js'
import { NodeCache } from './node-cache.js'
import { ValueCache } from './value-cache.js'

export interface StateStoreOptions {
  /**
   * Internal tree nodes kept in memory (default 1,000,000; 688 bytes each, in slabs allocated as
   * the cache fills: ~248 MB for the ~360,000 of a 1M-account tree). Leaves are not cached
   * (see checkNode). With
   * 200,000 a 100k-account state missed the cache on every cold recipient's path: the benchmark's
   * closed loop at 100k accounts went from 307 to 384 tx/s with 1,000,000.
   */
  nodeCacheSize?: number
  /**
   * Flat state values (and known-absent keys) kept in memory (default 2,500,000; warmValues()
   * loads up to half, so a state of up to ~1.25M keys stays whole in memory). Off the JS heap
   * in 128-byte records allocated as the cache fills (~128 MB for a 1M-key state, 320 MB
   * full); values over 92 bytes go to a small on-heap LRU (value-cache.ts).
   */
  valueCacheSize?: number
  /**
   * Write the tree's internal nodes to LevelDB at most every this many updates (default 1:
   * every update). In between, an update's batch carries its leaves and a journal record of
   * its writes instead, and its internal nodes stay pinned in the node cache; open() replays
   * the journal. A flush comes earlier when the nodes waiting for it pass half the node cache.
   * Roots between flushes are provable only while current. See the class comment for why.
   */
  flushEvery?: number
}

/** What prepare() may do about the tree's internal nodes (see StateStoreOptions.flushEvery). */
export interface PrepareOptions {
  /** Write every internal node of the new tree not yet written, whatever flushEvery says (genesis does). */
  flush?: boolean
}

export const DEFAULT_VALUE_CACHE_SIZE = 2_500_000

/** An update computed by prepare() and not yet committed. */
interface Prepared {
  root: NodeRef
  created: TreeNode[]
  replaced: NodeRef[]
  writes: StateWrite[]
  keyHashes: Uint8Array[]
  ops: BatchOp[]
  /** The batch writes every internal node of the new tree (and the root pointer). */
  flush: boolean
  /** Internal nodes among `created`. */
  internals: number
  /** The flushed root whose root-index entry this update's stale record lists. */
  staleRoot: NodeRef | null
}

/** Tree nodes read per LevelDB getMany while warming the cache. */
const WARM_CHUNK = 4096
/** warm() reads the next level only if at least this share of the level it just read was internal nodes. */
const WARM_MIN_INTERNAL = 0.5

/** Addresses one prune() call deletes at least, unless fewer are due (whole stale records). */
export const PRUNE_CHUNK = 8192

/**
 * Keys in the 'smt' sublevel, told apart by their first byte and length:
 *   version (8, BE) || hash (40 bytes)       a tree node (merkle.ts encodeNode). Versions stay
 *                                            below 2^53, so the first byte is 0x00 and node
 *                                            keys sort before every tagged key below.
 *   'R' || root hash || version (41 bytes)   a root some committed update produced (no value)
 *   'J' || version (8, BE) (9 bytes)         journal record of an update after the last flush
 *                                            (journal.ts): its writes and root
 *   'S' || since (8, BE) (9 bytes)           stale record of version `since`: the addresses that
 *                                            are not in its tree or any later one (encodeStale)
 *   'root' (4 bytes)                         the root of the last flush: version || hash ||
 *                                            updates (the flush's own version)
 */
const ROOT_KEY = utf8('root')
const ROOT_VALUE_BYTES = 48
const JOURNAL_TAG = 0x4a
const ROOT_INDEX_TAG = 0x52
const STALE_TAG = 0x53

/**
 * Storage key of a tree node: its version first, so each update's nodes are adjacent and last.
 * In the arena (arena.ts): a 40-byte array of its own would live on the JS heap, and LevelDB's
 * binding moves such an array into a backing store of its own when it reads it.
 */
export function nodeStorageKey (ref: NodeRef): Uint8Array {
  const k = arenaBytes(40)
  writeU64(k, 0, ref.version)
  k.set(ref.hash, 8)
  return k
}

function rootIndexKey (ref: NodeRef): Uint8Array {
  const k = new Uint8Array(41)
  k[0] = ROOT_INDEX_TAG
  k.set(ref.hash, 1)
  writeU64(k, 33, ref.version)
  return k
}

function staleKey (since: number): Uint8Array {
  return taggedVersionKey(STALE_TAG, since)
}

function journalKey (version: number): Uint8Array {
  return taggedVersionKey(JOURNAL_TAG, version)
}

function taggedVersionKey (tag: number, version: number): Uint8Array {
  const k = new Uint8Array(9)
  k[0] = tag
  writeU64(k, 1, version)
  return k
}

/**
 * A version's stale record: 1 byte r (0 or 1), r root-index keys (41 bytes each), then the
 * replaced nodes' storage keys (40 bytes each). One record per version and not one key per
 * address: a block at 1M accounts replaces ~2,500 nodes, and 2,500 extra keys in its batch
 * cost LevelDB as much again as the block's own nodes.
 */
function encodeStale (nodes: NodeRef[], oldRoot: NodeRef | null): Uint8Array {
  const r = oldRoot === null ? 0 : 1
  const out = new Uint8Array(1 + 41 * r + 40 * nodes.length)
  out[0] = r
  if (oldRoot !== null) out.set(rootIndexKey(oldRoot), 1)
  let pos = 1 + 41 * r
  for (const n of nodes) {
    writeU64(out, pos, n.version)
    out.set(n.hash, pos + 8)
    pos += 40
  }
  return out
}

function decodeStale (v: Uint8Array, since: number): Uint8Array[] {
  const r = v[0]
  if ((r !== 0 && r !== 1) || (v.length - 1 - 41 * r) % 40 !== 0 || v.length < 1 + 41 * r) {
    throw new CorruptionError(`state stale record of version ${since} is malformed (${v.length} bytes)`)
  }
  const out: Uint8Array[] = []
  if (r === 1) out.push(v.subarray(1, 42))
  for (let pos = 1 + 41 * r; pos < v.length; pos += 40) out.push(v.subarray(pos, pos + 40))
  return out
}

function sameRef (a: NodeRef, b: NodeRef): boolean {
  return a.version === b.version && Buffer.compare(a.hash, b.hash) === 0
}

function encodeRootPointer (root: NodeRef, updates: number): Uint8Array {
  const v = new Uint8Array(ROOT_VALUE_BYTES)
  writeU64(v, 0, root.version)
  v.set(root.hash, 8)
  writeU64(v, 40, updates)
  return v
}

/**
 * The authenticated state over LevelDB:
 *   'state' sublevel: flat key -> value, for fast reads by execution and the API;
 *   'smt' sublevel:   tree nodes by (version, hash) (merkle.ts), the current root under 'root',
 *                     an index of committed roots and an index of stale nodes (keys above).
 *
 * Why nodes are keyed by version first: keyed by hash alone, every block's new nodes were
 * spread over the whole key space, so LevelDB's compactions merged them into every level again
 * and again: its compaction thread took 11.9 % of a core per validator at 1M accounts against
 * 2.6 % at 10k. With the version first, each block's nodes sort after all earlier ones; in one
 * process committing 1M-account blocks, the CPU of the threads other than the main one fell by
 * a third per block (docs/performance.md, eighth session). The version is the number of
 * updates committed so far (+1), stored with the root pointer.
 * Block commit is two-phase so the ledger can write the block, its receipts and its state in
 * ONE atomic batch: prepare(writes) computes the new root and the batch ops without writing,
 * the ledger writes them, then commitPrepared(root) makes the new root current in memory.
 * prepare is always relative to the committed root (no pipelining of two uncommitted blocks).
 *
 * Pruning: every update records the nodes it replaced in a stale index keyed by its version
 * (as Jellyfish Merkle trees do), in the same batch; prune(keep) deletes the nodes that left
 * the tree `keep` or more versions ago. Without it every block's replaced nodes stayed forever:
 * the tree's storage grew with every block (a path of ~5 nodes per write at 1M accounts), not
 * with the state, and LevelDB compacted all of it again and again. Roots of the kept versions
 * stay provable; older ones answer ERR_UNKNOWN_ROOT.
 *
 * Flushes (flushEvery > 1): the internal nodes are written only by every flushEvery-th update,
 * which writes all of the tree's that are not yet stored; the updates in between write their
 * leaves, the flat values and a journal record (journal.ts), and keep their internal nodes
 * pinned in the node cache. open() replays the records after the last flush. Why: at 1M
 * accounts a 512-tx block rewrites ~2,900 internal nodes (~1.2 MB), the top four levels
 * (~1,200 nodes) in nearly every block, and LevelDB compacted all of it until pruning deleted
 * it; a testnet that wrote no tree nodes at all committed 2,763.8 tx/s at 1M against
 * 1,854.9, and with flushes every 64 blocks 2,005.1-2,039.3 (docs/performance.md,
 * twenty-second session: leaves, journal, flushes and pruning still cost the rest). Only the current root and the roots of
 * flushes are provable (the API proves at the newest certified block, nearly always the
 * current one; a proof that a commit overtakes answers ERR_UNKNOWN_ROOT and is asked again).
 */
export class StateStore {
  private currentRoot: NodeRef
  /** Updates committed so far; the next prepare() creates its nodes at version updates + 1. */
  private updates: number
  /** Internal nodes of the current tree by hash, and no others (see readAt for why). */
  private readonly cache: NodeCache
  /**
   * Committed flat values by key hash, null for a key known to be absent. Execution reads every
   * touched key (a LevelDB get each was the top frame of a validator under load); the cache is
   * only updated in commitPrepared, after the block's batch is durable, so it never runs ahead
   * of the disk. Off the JS heap (value-cache.ts): with the whole 1M-account state in it, a
   * Map of strings was two million heap objects for every major GC to mark.
   */
  private readonly values: ValueCache
  private pending = new Map<string, Prepared>()
  /** Version of the last flush: every internal node of its tree and of older ones is stored; later ones are pinned in `cache`. */
  private durableAt: number
  /** Internal nodes created since the last flush (at least as many as are pinned). */
  private unflushed = 0
  /** The last flush's root while its root-index entry is in no stale record yet (see staleRoot). */
  private indexedRoot: NodeRef | null
  private readonly flushEvery: number
  /** Last stale-index key prune() deleted (it resumes after it), null: start of the index. */
  private pruneCursor: Uint8Array | null = null
  private pruning = false

  private constructor (private readonly db: LevelDb, private readonly flat: Sublevel, private readonly nodes: Sublevel, root: NodeRef, updates: number, opts: StateStoreOptions) {
    const flushEvery = opts.flushEvery ?? 1
    if (!Number.isSafeInteger(flushEvery) || flushEvery < 1) throw new ValidationError('ERR_BAD_ARGUMENT', `flushEvery must be a positive integer, got ${flushEvery}`)
    this.flushEvery = flushEvery
    this.currentRoot = root
    this.updates = updates
    this.durableAt = updates
    this.indexedRoot = isEmpty(root.hash) ? null : root
    this.cache = new NodeCache(opts.nodeCacheSize ?? 1_000_000)
    this.cache.pinnedAbove = updates
    this.values = new ValueCache(opts.valueCacheSize ?? DEFAULT_VALUE_CACHE_SIZE)
  }

  static async open (db: LevelDb, opts: StateStoreOptions = {}): Promise<StateStore> {
    const flat = db.sublevel<Uint8Array, Uint8Array>('state', { keyEncoding: 'view', valueEncoding: 'view' })
    const nodes = db.sublevel<Uint8Array, Uint8Array>('smt', { keyEncoding: 'view', valueEncoding: 'view' })
    const stored = await nodes.get(ROOT_KEY)
    if (stored !== undefined && stored.length === 32) {
      throw new CorruptionError('the state database uses the old tree format (nodes keyed by hash alone); this version cannot read it: start the validator with an empty data directory and let it sync from its peers')
    }
    if (stored !== undefined && stored.length !== ROOT_VALUE_BYTES) throw new CorruptionError(`state root pointer has ${stored.length} bytes, expected ${ROOT_VALUE_BYTES}`)
    const root = stored === undefined ? EMPTY_ROOT : { version: readU64(stored, 0), hash: new Uint8Array(stored.slice(8, 40)) }
    const store = new StateStore(db, flat, nodes, root, stored === undefined ? 0 : readU64(stored, 40), opts)
    // Fail at open, not at the first block, if the root's node is missing.
    if (!isEmpty(root.hash)) await store.loadMany([root])
    await store.replayJournal()
    return store
  }

  /**
   * Redoes, in memory, the updates committed after the last flush (their journal records), so
   * the tree is the one of the last committed update again; each must give its record's root.
   * Then flushes, so a restart after a crash starts from a written tree.
   */
  private async replayJournal (): Promise<void> {
    let expected = this.durableAt + 1
    for await (const [k, v] of this.nodes.iterator({ gt: journalKey(this.durableAt), lt: journalKey(Number.MAX_SAFE_INTEGER) })) {
      const version = k.length === 9 ? readU64(k, 1) : -1
      if (version !== expected) throw new CorruptionError(`state journal: found record of version ${version} where version ${expected} was expected (after the flush of version ${this.durableAt})`)
      const record = decodeJournal(v, version)
      // No flush in between: the records' stale records were written with the nodes the updates
      // replaced that were stored then, and a flush here would store more. The replay pins what
      // the updates pinned, which fit under half of a node cache of the same size (commit()
      // says so if a smaller one does not take them).
      const p = await this.compute(record.writes, 'never')
      if (Buffer.compare(p.root.hash, record.root) !== 0) {
        throw new CorruptionError(`state journal: replaying version ${version} gave root ${toHex(p.root.hash)}, its record says ${toHex(record.root)}`)
      }
      this.commit(p)
      expected++
    }
    await this.flushNow()
  }

  /**
   * Writes every internal node of the committed tree that is not yet stored, with the root
   * pointer, in one batch of its own: what the next flushing update would do. Only when no
   * prepared update is pending (open() and close paths).
   */
  async flushNow (): Promise<void> {
    if (this.durableAt === this.updates) return
    if (this.pending.size > 0) throw new ValidationError('ERR_PREPARE_PENDING', 'flushNow: a prepared update is not committed yet')
    const ops: BatchOp[] = []
    this.unflushedNodes(this.currentRoot, new Map(), ops)
    this.flushOps(this.currentRoot, this.updates, this.updates, ops)
    // Synced: the journal records it deletes are what a crash would replay otherwise.
    await this.db.batch(ops, { sync: true } as unknown as AbstractBatchOptions<Uint8Array, Uint8Array>)
    this.flushed(this.currentRoot, this.updates)
  }

  /** The committed state root (32 zero bytes for an empty state). */
  root (): Uint8Array {
    return this.currentRoot.hash
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

  /** Value of `key` under an older (or the current) root, read from the tree. */
  async getAt (root: Uint8Array, key: Uint8Array): Promise<Uint8Array | null> {
    return await this.readAt(root, async (ref, load) => await lookup(ref, sha256(key), load))
  }

  /**
   * Runs a read of the tree at root hash `root`. The node cache finds nodes by hash alone, so
   * it may hold only nodes of the current tree: the same hash can be stored at two versions (a
   * subtree that came back to an earlier state), each copy recording its own children's
   * versions, and an update that found an old copy would follow it to children pruning deletes.
   * So nodes of old roots are never cached, and a read of the current root caches what it
   * loads only while no commit has happened since it began (a commit may have replaced them).
   * A read racing the prune of its root ends in ERR_UNKNOWN_ROOT, not a corruption error.
   */
  private async readAt<T> (root: Uint8Array, read: (ref: NodeRef, load: (r: NodeRef) => Promise<TreeNode>) => Promise<T>): Promise<T> {
    const ref = await this.resolveRoot(root)
    const epoch = this.updates
    const current = ref === this.currentRoot
    try {
      return await read(ref, async r => this.cache.get(r.hash) ??
        this.checkNode(r, await this.nodes.get(nodeStorageKey(r)), current && this.updates === epoch))
    } catch (err) {
      if (err instanceof CorruptionError) await this.resolveRoot(root)
      throw err
    }
  }

  /** Where the tree with root hash `root` is stored; ERR_UNKNOWN_ROOT if no kept committed update produced it. */
  private async resolveRoot (root: Uint8Array): Promise<NodeRef> {
    if (Buffer.compare(root, this.currentRoot.hash) === 0) return this.currentRoot
    if (isEmpty(root)) return EMPTY_ROOT
    // The same root hash may have been produced by several updates (a state that came back):
    // the newest is the one kept longest.
    for await (const k of this.nodes.keys({ gte: rootIndexKey({ hash: root, version: 0 }), lte: rootIndexKey({ hash: root, version: Number.MAX_SAFE_INTEGER }), reverse: true, limit: 1 })) {
      return { hash: root, version: readU64(k, 33) }
    }
    throw new ValidationError('ERR_UNKNOWN_ROOT', `state root ${toHex(root)} is not a root this node has kept (never produced here, or older than the state versions it keeps)`)
  }

  /**
   * New root and the batch operations (flat state, new tree nodes, root pointer or journal
   * record) for `writes` applied to the committed state. Writes nothing.
   */
  async prepare (writes: StateWrite[], opts: PrepareOptions = {}): Promise<{ root: Uint8Array, ops: BatchOp[] }> {
    const p = await this.compute(writes, opts.flush === true ? 'force' : 'auto')
    this.pending.set(toHex(p.root.hash), p)
    return { root: p.root.hash, ops: p.ops }
  }

  private async compute (writes: StateWrite[], mode: 'auto' | 'force' | 'never'): Promise<Prepared> {
    const seen = new Set<string>()
    const updates: PathUpdate[] = []
    for (const w of writes) {
      const k = toHex(w.key)
      if (seen.has(k)) throw new ValidationError('ERR_DUPLICATE_WRITE', `state key ${k} is written twice in one block`)
      seen.add(k)
      // The committed value execution already read (value cache) lets the tree skip reading this key's leaf.
      const keyHash = sha256(w.key)
      updates.push({ keyHash, value: w.value, old: this.values.get(keyHash) })
    }
    const version = this.updates + 1
    const { root, created, replaced } = await updateTree(this.currentRoot, updates,
      version, async rs => await this.loadMany(rs), h => this.cache.get(h))
    let internals = 0
    for (const n of created) if (n.kind === 'internal') internals++
    // What waits for a flush stays under half of the node cache (which also holds stored nodes).
    const flush = mode === 'force' || (mode === 'auto' &&
      (version - this.durableAt >= this.flushEvery || 2 * (this.unflushed + internals) > this.cache.capacity))
    const ops: BatchOp[] = []
    for (const w of writes) {
      ops.push(w.value === null
        ? { type: 'del', sublevel: this.flat, key: w.key }
        : { type: 'put', sublevel: this.flat, key: w.key, value: w.value })
    }
    // Leaves are written by every update. Held in memory until the flush instead (an off-heap
    // table, twenty-second session), 10k accounts gained and 1M lost: 1,920.9-1,962.5 tx/s against
    // 2,005.1-2,039.3, with flush batches twice the size (docs/performance.md).
    for (const n of created) if (flush || n.kind === 'leaf') ops.push(this.nodePut(n, version))
    const rootChanged = Buffer.compare(root.hash, this.currentRoot.hash) !== 0
    let staleRoot: NodeRef | null = null
    if (flush) {
      const mine = new Map<string, TreeNode>()
      for (const n of created) mine.set(nodeKey(n.hash), n)
      this.unflushedNodes(root, mine, ops)
      this.flushOps(root, version, version - 1, ops)
      // The previous flush's root-index entry, unless this flush's root is that same node (same key).
      staleRoot = this.indexedRoot !== null && !sameRef(this.indexedRoot, root) ? this.indexedRoot : null
    } else {
      ops.push({ type: 'put', sublevel: this.nodes, key: journalKey(version), value: encodeJournal(root.hash, writes) })
      // The last flush's root stops being current at the first update that changes the root.
      if (rootChanged) staleRoot = this.indexedRoot
    }
    // Stored addresses only: an internal node newer than the last flush (pinned in the cache at
    // its version) never was; leaves always are.
    const stale = replaced.filter(r => r.version <= this.durableAt || this.cache.versionOf(r.hash) !== r.version)
    if (stale.length > 0 || staleRoot !== null) ops.push({ type: 'put', sublevel: this.nodes, key: staleKey(version), value: encodeStale(stale, staleRoot) })
    return { root, created, replaced, writes, keyHashes: updates.map(u => u.keyHash), ops, flush, internals, staleRoot }
  }

  private nodePut (n: TreeNode, version: number): BatchOp {
    return { type: 'put', sublevel: this.nodes, key: nodeStorageKey({ hash: n.hash, version }), value: encodeNode(n) }
  }

  /**
   * Puts into `ops` the internal nodes of the tree at `root` that are newer than the last flush
   * and not in `mine` (the flushing update's own, which it writes itself): they are pinned in
   * the cache. A node's children are never newer than it, so the walk stops at older nodes; a
   * newer child that is not a cached internal node is a leaf, already stored.
   */
  private unflushedNodes (root: NodeRef, mine: Map<string, TreeNode>, ops: BatchOp[]): void {
    const stack: NodeRef[] = [root]
    while (stack.length > 0) {
      const ref = stack.pop()!
      if (ref.version <= this.durableAt || isEmpty(ref.hash)) continue
      let node = mine.get(nodeKey(ref.hash))
      if (node === undefined) {
        node = this.cache.getAt(ref.hash, ref.version)
        if (node === undefined) continue
        ops.push(this.nodePut(node, ref.version))
      }
      if (node.kind !== 'internal') continue
      for (let c = 0; c < ARITY; c++) if (hasChild(node, c)) stack.push(childRef(node, c))
    }
  }

  /**
   * The root pointer and root index entry of a flush at `version`, and the deletes of the
   * journal records it makes useless (versions up to `journaledTo`).
   */
  private flushOps (root: NodeRef, version: number, journaledTo: number, ops: BatchOp[]): void {
    ops.push({ type: 'put', sublevel: this.nodes, key: ROOT_KEY, value: encodeRootPointer(root, version) })
    if (!isEmpty(root.hash)) ops.push({ type: 'put', sublevel: this.nodes, key: rootIndexKey(root), value: new Uint8Array(0) })
    for (let v = this.durableAt + 1; v <= journaledTo; v++) ops.push({ type: 'del', sublevel: this.nodes, key: journalKey(v) })
  }

  /** After a flush of the tree at `root` (version `version`) is durable. */
  private flushed (root: NodeRef, version: number): void {
    this.durableAt = version
    this.unflushed = 0
    this.cache.pinnedAbove = version
    this.indexedRoot = isEmpty(root.hash) ? null : root
  }

  /** After the batch from prepare() is durably written: `root` becomes the committed root. */
  commitPrepared (root: Uint8Array): void {
    const p = this.pending.get(toHex(root))
    if (p === undefined) throw new ValidationError('ERR_NOT_PREPARED', `state root ${toHex(root)} was not prepared`)
    this.pending = new Map()
    this.commit(p)
  }

  private commit (p: Prepared): void {
    const version = this.updates + 1
    if (p.staleRoot !== null) this.indexedRoot = null
    // Before the cache takes the new nodes: a flush's own nodes are stored, so not pinned.
    if (p.flush) this.flushed(p.root, version)
    // Old versions leave the cache at once: kept, they filled it with nodes only old-root proofs
    // read (LevelDB serves those): validator RSS at 500 tx/s for 60 s was 457-505 MB with them,
    // 300-388 MB without. `created` after `replaced`: see TreeUpdate.
    for (const r of p.replaced) this.cache.delete(r.hash)
    for (const n of p.created) {
      if (n.kind !== 'internal') continue
      // A pinned node the cache cannot take would be lost: flushes keep the pinned ones under half of it.
      if (!this.cache.set(n, version) && !p.flush) throw new CorruptionError(`state node cache (${this.cache.capacity} nodes) cannot hold the ${this.unflushed + p.internals} nodes waiting for a flush; raise nodeCacheSize`)
    }
    if (!p.flush) this.unflushed += p.internals
    p.writes.forEach((w, i) => { this.values.set(p.keyHashes[i]!, w.value) })
    this.currentRoot = p.root
    this.updates = version
  }

  /** Inclusion or non-inclusion proof of `key` under the committed root (or `root`). */
  async prove (key: Uint8Array, root: Uint8Array = this.currentRoot.hash): Promise<StateProof> {
    const { value, proof } = await this.readAt(root, async (ref, load) => await proveKey(ref, sha256(key), load))
    return { key, value, proof }
  }

  /** Version of the last flush: a restart replays the journal of the updates after it (flushEvery). */
  get flushedVersion (): number {
    return this.durableAt
  }

  /** Committed updates so far: the version of the newest nodes (blocks and genesis chunks each count one). */
  get version (): number {
    return this.updates
  }

  /**
   * Deletes what left the tree `keep` or more versions before the committed one: the stored
   * nodes and root-index entries in the stale records of versions up to version - keep, and
   * those records, in one batch of whole records that stops after `max` addresses. Returns how
   * many addresses it deleted (0: nothing was due, or another prune() is still running). keep = 0
   * keeps only the committed tree.
   *
   * Safe beside prepare() and commitPrepared(): neither the committed tree nor one prepared on
   * it holds a stale node, and a node address is never reused (each update has its own version).
   * The batch is not synced: records a crash loses are still stored and pruned again.
   */
  async prune (keep: number, max = PRUNE_CHUNK): Promise<number> {
    if (!Number.isSafeInteger(keep) || keep < 0) throw new ValidationError('ERR_BAD_ARGUMENT', `prune: keep must be a non-negative integer, got ${keep}`)
    // Never past the last flush: a restart replays the journal over that flush's tree, whose
    // nodes later updates replaced (and listed in their stale records).
    const horizon = Math.min(this.updates - keep, this.durableAt)
    if (this.pruning || horizon < 1) return 0
    this.pruning = true
    try {
      const ops: Array<{ type: 'del', key: Uint8Array }> = []
      let deleted = 0
      let last: Uint8Array | null = null
      const range = this.pruneCursor === null ? { gte: Uint8Array.of(STALE_TAG) } : { gt: this.pruneCursor }
      for await (const [k, v] of this.nodes.iterator({ ...range, lt: staleKey(horizon + 1) })) {
        if (k.length !== 9) throw new CorruptionError(`state stale-record key has ${k.length} bytes, expected 9`)
        const addresses = decodeStale(v, readU64(k, 1))
        ops.push({ type: 'del', key: k })
        for (const a of addresses) ops.push({ type: 'del', key: a })
        deleted += addresses.length
        last = k
        if (deleted >= max) break
      }
      if (last === null) return 0
      await this.nodes.batch(ops)
      this.pruneCursor = Uint8Array.from(last)
      return deleted
    } finally {
      this.pruning = false
    }
  }

  get cachedNodes (): number {
    return this.cache.size
  }

  /**
   * Loads the committed tree's upper levels into the node cache, level by level: internal
   * nodes are cached; leaves are read (a parent does not say which children are leaves) and
   * dropped. It goes one level deeper while at least half of the nodes of the level just read
   * were internal (WARM_MIN_INTERNAL): below that, most reads would be leaves, which blocks never
   * need. It stops early at half the cache's capacity in cached nodes (the other half is for
   * the nodes blocks create), after `maxLevels` levels, or when `budgetMs` has passed. Returns
   * how many nodes it cached.
   *
   * Why: a validator starts with an empty cache, and the first touch of a path costs a LevelDB
   * read per uncached level, one batch per level with an await in between. At 1M accounts the
   * tree has ~70,000 internal nodes in its top 5 levels and ~275,000 at depth 5, of which a
   * minute of load touches only ~60,000, so with 5 levels warmed nearly every recipient cost a
   * read of its depth-5 parent. Warming depth 5 as well took ~20 s per validator at start (4
   * validators at once on 2 cores) and gave 1M ~+10 % tx/s (1,149 against 1,042 by mean,
   * docs/performance.md, twentieth session). (Before the node cache left the heap, loading the
   * whole tree with its leaves made throughput lower: each node was ~5 heap objects.)
   */
  async warm (budgetMs: number, maxLevels = 64): Promise<number> {
    const deadline = performance.now() + budgetMs
    const limit = Math.floor(this.cache.capacity / 2)
    const inTime = (): boolean => performance.now() < deadline
    let cached = 0
    let frontier = isEmpty(this.currentRoot.hash) ? [] : [this.currentRoot]
    for (let level = 0; level < maxLevels && frontier.length > 0 && cached < limit && inTime(); level++) {
      const next: NodeRef[] = []
      let read = 0
      let internal = 0
      // A chunk holds at most as many refs as the cache has room for, each at most one node.
      for (let i = 0; i < frontier.length && cached < limit && inTime(); i += WARM_CHUNK) {
        const chunk = frontier.slice(i, Math.min(i + WARM_CHUNK, frontier.length, i + limit - cached))
        let chunkInternal = 0
        for (const node of await this.loadNodes(chunk)) {
          if (node.kind !== 'internal') continue
          chunkInternal++
          for (let c = 0; c < ARITY; c++) if (hasChild(node, c)) next.push(childRef(node, c))
        }
        read += chunk.length
        internal += chunkInternal
        cached += chunkInternal
      }
      if (internal < WARM_MIN_INTERNAL * read) break
      frontier = next
    }
    return cached
  }

  /**
   * Loads committed flat values into the value cache, in key order, up to half its capacity
   * (the other half is for the keys blocks write) or until `budgetMs` has passed. Returns how
   * many it loaded. Run at start, before any block commits.
   *
   * Why: execution reads every account a block touches, and at 1M accounts nearly every
   * recipient is cold, one random LevelDB read each. With the whole state in the cache from the
   * start, a 1M testnet committed 1,263.3 and 1,305.4 tx/s against 1,134.7–1,168.9, and the
   * validators' threads other than the main one used 13–19 % of a core instead of 18–23 %
   * (docs/performance.md, twentieth session). Off the heap (see `values`), the million values
   * take ~128 MB of records; the 1M validators peaked at 1.17–1.40 GB RSS (twenty-first session).
   */
  async warmValues (budgetMs: number): Promise<number> {
    const deadline = performance.now() + budgetMs
    const limit = Math.floor(this.values.capacity / 2)
    let loaded = 0
    if (limit === 0 || budgetMs <= 0) return 0
    for await (const [k, v] of this.flat.iterator()) {
      this.remember(sha256(k), v)
      // Checking the clock every entry would cost more than the entry.
      if (++loaded >= limit || ((loaded & 1023) === 0 && performance.now() >= deadline)) break
    }
    return loaded
  }

  /** Nodes from the cache where it has them (internal nodes not yet flushed are only there), else from LevelDB. */
  private async loadNodes (refs: NodeRef[]): Promise<TreeNode[]> {
    const out: Array<TreeNode | undefined> = refs.map(r => this.cache.get(r.hash))
    const missing = refs.filter((_, i) => out[i] === undefined)
    if (missing.length === 0) return out as TreeNode[]
    const loaded = await this.loadMany(missing)
    let j = 0
    return out.map(n => n ?? loaded[j++]!)
  }

  private async loadMany (refs: NodeRef[]): Promise<TreeNode[]> {
    const values = await this.nodes.getMany(refs.map(nodeStorageKey))
    return values.map((bytes, i) => this.checkNode(refs[i]!, bytes, true))
  }

  /**
   * Decodes and checks a stored node, and caches it if it is internal and `cache` is set (not
   * for nodes of old roots, see readAt).
   *
   * Why leaves are not cached: a block's update rebuilds a touched key's leaf from
   * its committed value (the value cache, filled by execution) and needs no stored leaf, so
   * cached leaves were only dead weight: at 1M accounts the cache filled with leaves of
   * recipients seen once, and a heap of a million more small objects made every major GC
   * slower. Proofs and the rare update without a known value read leaves from LevelDB.
   */
  private checkNode (ref: NodeRef, bytes: Uint8Array | undefined, cache: boolean): TreeNode {
    if (bytes === undefined) throw new CorruptionError(`state tree node ${toHex(ref.hash)} (version ${ref.version}) is missing`)
    // Plain Uint8Array views (LevelDB hands out Buffers): values must compare equal to callers'.
    const node = decodeNode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    if (node === null || Buffer.compare(node.hash, ref.hash) !== 0) throw new CorruptionError(`state tree node ${toHex(ref.hash)} (version ${ref.version}) is corrupt`)
    if (cache && node.kind === 'internal') this.cache.set(node, ref.version)
    return node
  }
}

