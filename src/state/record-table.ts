import { randomInt } from 'node:crypto'
import { HASH_BYTES } from '../crypto/hash.js'

/**
 * Fixed-size records kept off the JS heap, found by a 32-byte hash: the storage and index
 * under the state's value cache (value-cache.ts). Records live in slabs of
 * SLAB_RECORDS allocated as the table fills; an open-addressed index (linear probing, at most
 * half full, backward-shift deletion so lookups need no tombstones) maps a hash to its record;
 * when the table is full, CLOCK picks the record to reuse.
 *
 * Every record starts with its 32-byte hash; what follows is the caller's. The caller reads
 * and writes a record through `slab(r)` at `offset(r)`.
 *
 * Why off the heap: a cache of ~1M entries held as JS objects is millions of heap objects that
 * every major GC marks, and every entry a block adds is promoted to the old generation first.
 */
/** Records per slab, allocated as the table fills. */
const SLAB_BITS = 12
const SLAB_RECORDS = 1 << SLAB_BITS
const SLAB_MASK = SLAB_RECORDS - 1

const MIN_SLOTS = 1024

/** One slab's memory with the views callers need; `f64` and `u32` index the same bytes. */
export interface Slab { bytes: Uint8Array, f64: Float64Array, u32: Uint32Array }

/**
 * Which 4 bytes of a hash pick its slot and a mask mixed in: both secret per process by
 * default. The hashes depend on keys users choose, and with a public slot function a user
 * could grind keys whose entries all land in one probe run.
 */
export interface SlotFunction { offset: number, salt: number }

export function randomSlotFunction (): SlotFunction {
  return { offset: randomInt(0, 29), salt: randomInt(0, 2 ** 32) }
}

export class RecordTable {
  private readonly slabs: Slab[] = []
  /** Records handed out so far (the high-water mark; freed ones go to `free`). */
  private allocated = 0
  private readonly free: number[] = []
  /** CLOCK reference bit per record: set by a hit, cleared as the hand passes. */
  private refs = new Uint8Array(0)
  /** 1 for a record that holds an entry. */
  private live = new Uint8Array(0)
  private hand = 0
  /** Index slots: record number + 1, 0 for an empty slot. Kept at most half full. */
  private slots = new Int32Array(MIN_SLOTS)
  /**
   * The 32-bit slot hash of each slot's entry, beside it. Why: at 1M accounts the records are
   * hundreds of MB, so reading one is a cache miss; with the hash here a probe reads a record
   * only on a full 32-bit match, and moving or rehashing entries reads none.
   */
  private keys = new Int32Array(MIN_SLOTS)
  private mask = MIN_SLOTS - 1
  private count = 0
  private readonly offsetInHash: number
  private readonly salt: number

  constructor (readonly capacity: number, readonly recordBytes: number, slots: SlotFunction = randomSlotFunction()) {
    if (!Number.isInteger(slots.offset) || slots.offset < 0 || slots.offset > HASH_BYTES - 4) throw new RangeError(`slot offset must be 0..${HASH_BYTES - 4}, got ${slots.offset}`)
    if (recordBytes % 8 !== 0 || recordBytes < HASH_BYTES) throw new RangeError(`record size must be a multiple of 8 and at least ${HASH_BYTES}, got ${recordBytes}`)
    this.offsetInHash = slots.offset
    this.salt = slots.salt | 0
  }

  get size (): number {
    return this.count
  }

  /** The record holding `hash` (now marked as used), or -1. */
  find (hash: Uint8Array): number {
    const slot = this.slotOf(hash)
    if (slot < 0) return -1
    const r = this.slots[slot]! - 1
    this.refs[r] = 1
    return r
  }

  /**
   * The record for `hash`: its own if present, else a fresh one with the hash written in
   * (evicting another entry when full); -1 if the capacity is 0. Marked as used.
   */
  claim (hash: Uint8Array): number {
    if (this.capacity <= 0) return -1
    let r = this.find(hash)
    if (r >= 0) return r
    r = this.allocate()
    this.slab(r).bytes.set(hash.subarray(0, HASH_BYTES), this.offset(r))
    this.insertSlot(hash, r)
    this.refs[r] = 1
    return r
  }

  remove (hash: Uint8Array): void {
    const slot = this.slotOf(hash)
    if (slot < 0) return
    const r = this.slots[slot]! - 1
    this.removeSlot(slot)
    this.live[r] = 0
    this.free.push(r)
  }

  slab (r: number): Slab {
    return this.slabs[r >>> SLAB_BITS]!
  }

  /** Byte offset of record `r` in its slab. */
  offset (r: number): number {
    return (r & SLAB_MASK) * this.recordBytes
  }

  /** The 32-bit slot hash of the hash at bytes[at, at + 32) (its home slot is this & mask). */
  private key (bytes: Uint8Array, at = 0): number {
    const o = at + this.offsetInHash
    return (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) ^ this.salt
  }

  private slotOf (hash: Uint8Array): number {
    const k = this.key(hash)
    for (let slot = k & this.mask; ; slot = (slot + 1) & this.mask) {
      const e = this.slots[slot]!
      if (e === 0) return -1
      if (this.keys[slot] === k && this.hashEquals(e - 1, hash)) return slot
    }
  }

  /** The slot that holds record `r` (which must be indexed). */
  private slotOfRecord (r: number): number {
    let slot = this.key(this.slab(r).bytes, this.offset(r)) & this.mask
    while (this.slots[slot] !== r + 1) slot = (slot + 1) & this.mask
    return slot
  }

  private hashEquals (r: number, hash: Uint8Array): boolean {
    const bytes = this.slab(r).bytes
    const at = this.offset(r)
    for (let b = 0; b < HASH_BYTES; b++) if (bytes[at + b] !== hash[b]) return false
    return true
  }

  private insertSlot (hash: Uint8Array, r: number): void {
    if (2 * (this.count + 1) > this.slots.length) this.grow()
    const k = this.key(hash)
    let slot = k & this.mask
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask
    this.slots[slot] = r + 1
    this.keys[slot] = k
    this.count++
  }

  /**
   * Empties `slot` by backward-shift deletion: later entries of the same probe run move up,
   * so lookups never need tombstones.
   */
  private removeSlot (slot: number): void {
    let hole = slot
    for (let j = (slot + 1) & this.mask; this.slots[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.keys[j]! & this.mask
      // Entry j may fill the hole if its home is not cyclically in (hole, j].
      const between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
      if (!between) {
        this.slots[hole] = this.slots[j]!
        this.keys[hole] = this.keys[j]!
        hole = j
      }
    }
    this.slots[hole] = 0
    this.count--
  }

  private grow (): void {
    const old = this.slots
    const oldKeys = this.keys
    this.slots = new Int32Array(old.length * 2)
    this.keys = new Int32Array(old.length * 2)
    this.mask = this.slots.length - 1
    for (let i = 0; i < old.length; i++) {
      const e = old[i]!
      if (e === 0) continue
      const k = oldKeys[i]!
      let slot = k & this.mask
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask
      this.slots[slot] = e
      this.keys[slot] = k
    }
  }

  /** A record to fill: a freed one, a new one while under capacity, else the CLOCK victim's. */
  private allocate (): number {
    let r = this.free.pop()
    if (r === undefined && this.allocated < this.capacity) {
      r = this.allocated++
      if ((r & SLAB_MASK) === 0) this.addSlab()
    }
    r ??= this.evict()
    this.live[r] = 1
    return r
  }

  private addSlab (): void {
    const n = Math.min(SLAB_RECORDS, this.capacity - this.slabs.length * SLAB_RECORDS)
    const buf = new ArrayBuffer(n * this.recordBytes)
    this.slabs.push({ bytes: new Uint8Array(buf), f64: new Float64Array(buf), u32: new Uint32Array(buf) })
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
