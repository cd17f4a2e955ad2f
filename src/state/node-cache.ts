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
 */
const HASH = 0
const CHILDREN = 32
const VERSIONS = CHILDREN + 32 * ARITY
const PRESENT = VERSIONS + 8 * ARITY
const RECORD = PRESENT + 8

export class NodeCache {
  private readonly table: RecordTable

  /** `slots` fixes the slot function (tests); by default it is drawn at random. */
  constructor (readonly capacity: number, slots: SlotFunction = randomSlotFunction()) {
    this.table = new RecordTable(capacity, RECORD, slots)
  }

  get size (): number {
    return this.table.size
  }

  /** A copy of the cached node with this hash (the caller may keep or change it), or undefined. */
  get (hash: Uint8Array): InternalNode | undefined {
    const r = this.table.find(hash)
    if (r < 0) return undefined
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

  /** Caches (a copy of) `node`, replacing the entry with the same hash; evicts one if full. */
  set (node: InternalNode): void {
    const r = this.table.claim(node.hash)
    if (r < 0) return
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    s.bytes.set(node.childHashes, at + CHILDREN)
    const v0 = (at + VERSIONS) / 8
    for (let c = 0; c < ARITY; c++) s.f64[v0 + c] = node.versions[c]!
    s.u32[(at + PRESENT) / 4] = node.present
  }

  delete (hash: Uint8Array): void {
    this.table.remove(hash)
  }
}
