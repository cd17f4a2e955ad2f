import { randomInt } from 'node:crypto'
import { arenaCopy } from './arena.js'
import { ARITY, type InternalNode } from './merkle.js'

/**
 * The state tree's cache of internal nodes, kept off the JS heap: fixed-size records in a few
 * large ArrayBuffers, found through an open-addressed index (linear probing) keyed by the node
 * hash, evicted in CLOCK order.
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

/** Records per slab: ~2.8 MB each, allocated as the cache fills. */
const SLAB_BITS = 12
const SLAB_RECORDS = 1 << SLAB_BITS
const SLAB_MASK = SLAB_RECORDS - 1

const MIN_SLOTS = 1024

interface Slab { bytes: Uint8Array, versions: Float64Array, present: Uint32Array }

export class NodeCache {
  private readonly slabs: Slab[] = []
  /** Records handed out so far (the high-water mark; freed ones go to `free`). */
  private allocated = 0
  private readonly free: number[] = []
  /** CLOCK reference bit per record: set by a hit, cleared as the hand passes. */
  private refs = new Uint8Array(0)
  /** 1 for a record that holds a node. */
  private live = new Uint8Array(0)
  private hand = 0
  /** Index slots: record number + 1, 0 for an empty slot. Kept at most half full. */
  private slots = new Int32Array(MIN_SLOTS)
  private mask = MIN_SLOTS - 1
  private count = 0
  /**
   * Which 4 bytes of a hash pick its slot, and a mask mixed in, both secret per process: node
   * hashes depend on keys users choose, and with a public slot function a user could grind
   * keys whose nodes all land in one probe run.
   */
  private readonly offset: number
  private readonly salt: number

  /** `slots` fixes the slot function (tests); by default it is drawn at random. */
  constructor (readonly capacity: number, slots: { offset: number, salt: number } = { offset: randomInt(0, 29), salt: randomInt(0, 2 ** 32) }) {
    if (!Number.isInteger(slots.offset) || slots.offset < 0 || slots.offset > 28) throw new RangeError(`NodeCache: slot offset must be 0..28, got ${slots.offset}`)
    this.offset = slots.offset
    this.salt = slots.salt | 0
  }

  get size (): number {
    return this.count
  }

  /** A copy of the cached node with this hash (the caller may keep or change it), or undefined. */
  get (hash: Uint8Array): InternalNode | undefined {
    const r = this.find(hash)
    if (r < 0) return undefined
    this.refs[r] = 1
    const s = this.slabs[r >>> SLAB_BITS]!
    const i = r & SLAB_MASK
    const at = i * RECORD
    const versions = new Array<number>(ARITY)
    const v0 = i * (RECORD / 8) + VERSIONS / 8
    for (let c = 0; c < ARITY; c++) versions[c] = s.versions[v0 + c]!
    return {
      kind: 'internal',
      hash: s.bytes.slice(at + HASH, at + HASH + 32),
      childHashes: arenaCopy(s.bytes, at + CHILDREN, at + VERSIONS),
      present: s.present[i * (RECORD / 4) + PRESENT / 4]!,
      versions
    }
  }

  /** Caches (a copy of) `node`, replacing the entry with the same hash; evicts one if full. */
  set (node: InternalNode): void {
    if (this.capacity <= 0) return
    let r = this.find(node.hash)
    if (r < 0) {
      r = this.allocate()
      this.insertSlot(node.hash, r)
    }
    const s = this.slabs[r >>> SLAB_BITS]!
    const i = r & SLAB_MASK
    const at = i * RECORD
    s.bytes.set(node.hash, at + HASH)
    s.bytes.set(node.childHashes, at + CHILDREN)
    const v0 = i * (RECORD / 8) + VERSIONS / 8
    for (let c = 0; c < ARITY; c++) s.versions[v0 + c] = node.versions[c]!
    s.present[i * (RECORD / 4) + PRESENT / 4] = node.present
    this.refs[r] = 1
  }

  delete (hash: Uint8Array): void {
    const slot = this.slotOf(hash)
    if (slot < 0) return
    const r = this.slots[slot]! - 1
    this.removeSlot(slot)
    this.live[r] = 0
    this.free.push(r)
  }

  /** Record number of `hash`, -1 if absent. */
  private find (hash: Uint8Array): number {
    const slot = this.slotOf(hash)
    return slot < 0 ? -1 : this.slots[slot]! - 1
  }

  /** Home slot of the hash at bytes[at, at + 32). */
  private home (bytes: Uint8Array, at = 0): number {
    const o = at + this.offset
    return ((bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) ^ this.salt) & this.mask
  }

  private slotOf (hash: Uint8Array): number {
    for (let slot = this.home(hash); ; slot = (slot + 1) & this.mask) {
      const e = this.slots[slot]!
      if (e === 0) return -1
      if (this.hashEquals(e - 1, hash)) return slot
    }
  }

  /** The slot that holds record `r` (which must be indexed). */
  private slotOfRecord (r: number): number {
    let slot = this.homeOfRecord(r)
    while (this.slots[slot] !== r + 1) slot = (slot + 1) & this.mask
    return slot
  }

  private hashEquals (r: number, hash: Uint8Array): boolean {
    const bytes = this.slabs[r >>> SLAB_BITS]!.bytes
    const at = (r & SLAB_MASK) * RECORD + HASH
    for (let b = 0; b < 32; b++) if (bytes[at + b] !== hash[b]) return false
    return true
  }

  private insertSlot (hash: Uint8Array, r: number): void {
    if (2 * (this.count + 1) > this.slots.length) this.grow()
    let slot = this.home(hash)
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask
    this.slots[slot] = r + 1
    this.count++
  }

  /**
   * Empties `slot` by backward-shift deletion: later entries of the same probe run move up,
   * so lookups never need tombstones.
   */
  private removeSlot (slot: number): void {
    let hole = slot
    for (let j = (slot + 1) & this.mask; this.slots[j] !== 0; j = (j + 1) & this.mask) {
      const e = this.slots[j]!
      const home = this.homeOfRecord(e - 1)
      // Entry j may fill the hole if its home is not cyclically in (hole, j].
      const between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
      if (!between) {
        this.slots[hole] = e
        hole = j
      }
    }
    this.slots[hole] = 0
    this.count--
  }

  private homeOfRecord (r: number): number {
    return this.home(this.slabs[r >>> SLAB_BITS]!.bytes, (r & SLAB_MASK) * RECORD + HASH)
  }

  private grow (): void {
    const old = this.slots
    this.slots = new Int32Array(old.length * 2)
    this.mask = this.slots.length - 1
    for (const e of old) {
      if (e === 0) continue
      let slot = this.homeOfRecord(e - 1)
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask
      this.slots[slot] = e
    }
  }

  /** A record to fill: a freed one, a new one while under capacity, else the CLOCK victim's. */
  private allocate (): number {
    let r = this.free.pop()
    if (r === undefined && this.allocated < this.capacity) {
      r = this.allocated++
      if ((r & SLAB_MASK) === 0) this.addSlab()
    }
    if (r === undefined) r = this.evict()
    this.live[r] = 1
    return r
  }

  private addSlab (): void {
    const n = Math.min(SLAB_RECORDS, this.capacity - this.slabs.length * SLAB_RECORDS)
    const buf = new ArrayBuffer(n * RECORD)
    this.slabs.push({ bytes: new Uint8Array(buf), versions: new Float64Array(buf), present: new Uint32Array(buf) })
    const records = this.slabs.length * SLAB_RECORDS
    const refs = new Uint8Array(records)
    refs.set(this.refs)
    this.refs = refs
    const live = new Uint8Array(records)
    live.set(this.live)
    this.live = live
  }

  /** Second-chance sweep: clears reference bits until it meets a live record without one. */
  private evict (): number {
    for (;;) {
      const r = this.hand
      this.hand = (this.hand + 1) % this.allocated
      if (this.live[r] === 0) continue
      if (this.refs[r] === 1) { this.refs[r] = 0; continue }
      this.removeSlot(this.slotOfRecord(r))
      return r
    }
  }
}
