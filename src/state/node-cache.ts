import { arenaCopy } from './arena.js'
import { ARITY, type InternalNode } from './merkle.js'
import { randomSlotFunction, RecordTable, type SlotFunction } from './record-table.js'

/**
 * The state tree's internal nodes, kept off the JS heap: fixed-size records in a few large
 * ArrayBuffers, found through an open-addressed index (linear probing) keyed by the node hash.
 * The index and slabs are RecordTable's (record-table.ts). The store keeps its whole tree here
 * (store.ts), so nothing is ever evicted: `set` answers false when the table is full, and the
 * store refuses to grow the tree past `capacity` before that can happen.
 *
 * Why not a Map of node objects: at 1M accounts the tree has ~360,000 internal nodes, each
 * about five heap objects (the node, its hash, its 512-byte child array, its versions array,
 * the Map key), and every block adds ~2,900 more. Every cached node survived a scavenge and was
 * promoted, the one it replaced then died in the old generation, and every major GC marked all
 * of them: at 1M the validators spent ~2.5x the GC time per tx of 10k (docs/performance.md,
 * nineteenth session). Here a node costs the collector nothing; a lookup builds a short-lived
 * copy, which dies young.
 *
 * Record layout (RECORD bytes, a multiple of 8):
 *   [0, 32)      node hash
 *   [32, 544)    the 16 children's hashes (InternalNode.childHashes)
 *   [544, 548)   present bitmap (uint32)
 *
 * No child versions: they address nodes in a stored tree, and this tree is not stored. Copies
 * carry versions of 0 (one shared, frozen array: callers copy before they change it, as
 * merkle.ts does). Until the twenty-third session a record also held them (688 bytes; the tree
 * of a 1M-key state took ~248 MB, now ~199 MB).
 */
const HASH = 0
const CHILDREN = 32
const PRESENT = CHILDREN + 32 * ARITY
const RECORD = PRESENT + 8

const NO_VERSIONS: number[] = Object.freeze(new Array<number>(ARITY).fill(0)) as number[]

export class NodeCache {
  private readonly table: RecordTable

  /** `slots` fixes the slot function (tests); by default it is drawn at random. */
  constructor (readonly capacity: number, slots: SlotFunction = randomSlotFunction()) {
    this.table = new RecordTable(capacity, RECORD, slots, false)
  }

  /** Bytes one node takes (its record). */
  static readonly recordBytes = RECORD

  get size (): number {
    return this.table.size
  }

  /** A copy of the node with this hash (the caller may keep or change it; versions are 0 and shared), or undefined. */
  get (hash: Uint8Array): InternalNode | undefined {
    const r = this.table.find(hash)
    if (r < 0) return undefined
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    return {
      kind: 'internal',
      hash: s.bytes.slice(at + HASH, at + HASH + 32),
      childHashes: arenaCopy(s.bytes, at + CHILDREN, at + PRESENT),
      present: s.u32[(at + PRESENT) / 4]!,
      versions: NO_VERSIONS
    }
  }

  /** Holds (a copy of) `node`, replacing the entry with the same hash. False if full (or capacity 0): nothing is evicted. */
  set (node: InternalNode): boolean {
    const r = this.table.claim(node.hash)
    if (r < 0) return false
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    s.bytes.set(node.childHashes, at + CHILDREN)
    s.u32[(at + PRESENT) / 4] = node.present
    return true
  }

  delete (hash: Uint8Array): void {
    this.table.remove(hash)
  }
}
