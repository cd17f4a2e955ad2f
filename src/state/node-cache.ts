import { arenaCopy } from './arena.js'
import { ARITY, type InternalNode } from './merkle.js'
import { randomSlotFunction, RecordTable, type SlotFunction } from './record-table.js'

/**
 * The state tree's cache of internal nodes, kept off the JS heap: fixed-size records in a few
 * large ArrayBuffers, found through an open-addressed index (linear probing) keyed by the node
 * hash, evicted in CLOCK order.
 *
 * The index, slabs and eviction are RecordTable's (record-table.ts).
 *
 * Why not a Map of node objects: at 1M accounts the cache holds ~360,000 internal nodes, each
 * about five heap objects (the node, its hash, its 512-byte child array, its versions array,
 * the Map key), and every block adds ~2,900 more. Every cached node survived a scavenge and was
 * promoted, the one it replaced then died in the old generation, and every major GC marked all
 * of them: at 1M the validators spent ~2.5x the GC time per tx of 10k (docs/performance.md,
 * nineteenth session). Here a cached node costs the collector nothing; a lookup builds a
 * short-lived copy, which dies young.
 *
 * Record layout (RECORD bytes, 8-aligned so the versions can be a Float64Array view):
 *   [0, 32)      node hash
 *   [32, 544)    the 16 children's hashes (InternalNode.childHashes)
 *   [544, 672)   the 16 children's versions, float64 (versions stay below 2^53)
 *   [672, 676)   present bitmap (uint32)
 *   [680, 688)   the node's own version, float64
 *
 * Pinning: a node whose own version is above `pinnedAbove` is never evicted. The store keeps
 * the whole tree only here (store.ts) and pins every node (`pinnedAbove = -Infinity`).
 */
const HASH = 0
const CHILDREN = 32
const VERSIONS = CHILDREN + 32 * ARITY
const PRESENT = VERSIONS + 8 * ARITY
const VERSION = PRESENT + 8
const RECORD = VERSION + 8

export class NodeCache {
  private readonly table: RecordTable
  /** Nodes of higher versions are pinned (not yet in LevelDB); Infinity pins none. */
  pinnedAbove = Infinity

  /** `slots` fixes the slot function (tests); by default it is drawn at random. */
  constructor (readonly capacity: number, slots: SlotFunction = randomSlotFunction()) {
    this.table = new RecordTable(capacity, RECORD, slots, r => this.table.slab(r).f64[(this.table.offset(r) + VERSION) / 8]! <= this.pinnedAbove)
  }

  get size (): number {
    return this.table.size
  }

  /** A copy of the cached node with this hash (the caller may keep or change it), or undefined. */
  get (hash: Uint8Array): InternalNode | undefined {
    const r = this.table.find(hash)
    return r < 0 ? undefined : this.copyOut(r)
  }

  /** Like get, but only the copy stored at `version` (one lookup where versionOf and get took two). */
  getAt (hash: Uint8Array, version: number): InternalNode | undefined {
    const r = this.table.find(hash)
    return r < 0 || this.table.slab(r).f64[(this.table.offset(r) + VERSION) / 8] !== version ? undefined : this.copyOut(r)
  }

  private copyOut (r: number): InternalNode {
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    const versions = new Array<number>(ARITY)
    const v0 = (at + VERSIONS) / 8
    for (let c = 0; c < ARITY; c++) versions[c] = s.f64[v0 + c]!
    return {
      kind: 'internal',
      hash: s.bytes.slice(at + HASH, at + HASH + 32),
      childHashes: arenaCopy(s.bytes, at + CHILDREN, at + VERSIONS),
      present: s.u32[(at + PRESENT) / 4]!,
      versions
    }
  }

  /**
   * Caches (a copy of) `node`, stored at `version`, replacing the entry with the same hash;
   * evicts one if full. False if it could not (capacity 0, or every record pinned).
   */
  set (node: InternalNode, version: number): boolean {
    const r = this.table.claim(node.hash)
    if (r < 0) return false
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    s.bytes.set(node.childHashes, at + CHILDREN)
    const v0 = (at + VERSIONS) / 8
    for (let c = 0; c < ARITY; c++) s.f64[v0 + c] = node.versions[c]!
    s.u32[(at + PRESENT) / 4] = node.present
    s.f64[(at + VERSION) / 8] = version
    return true
  }

  /** Whether a node with this hash is cached. */
  has (hash: Uint8Array): boolean {
    return this.table.find(hash) >= 0
  }

  /** The version the cached node with this hash is stored at, or undefined. */
  versionOf (hash: Uint8Array): number | undefined {
    const r = this.table.find(hash)
    return r < 0 ? undefined : this.table.slab(r).f64[(this.table.offset(r) + VERSION) / 8]!
  }

  delete (hash: Uint8Array): void {
    this.table.remove(hash)
  }
}
