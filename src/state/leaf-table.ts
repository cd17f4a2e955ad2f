import { toLatin1 } from '../codec/hex.js'
import type { LeafNode } from './merkle.js'
import { randomSlotFunction, RecordTable, type SlotFunction } from './record-table.js'

/**
 * The tree's leaves created since the last flush (store.ts, flushEvery), by leaf hash, off the
 * JS heap: between flushes a leaf exists only here (and in the journal), so nothing is ever
 * evicted; the store flushes before the table passes half its capacity.
 *
 * Why not written with every update: at 1M accounts a block's ~900 touched keys each wrote a
 * new leaf and, a hundred versions later, pruning deleted the one it replaced; a sender's leaf
 * was rewritten in nearly every block. Held here until the flush, a leaf replaced within the
 * interval is never written nor deleted (docs/performance.md, twenty-second session).
 *
 * Record layout (RECORD bytes):
 *   [0, 32)     leaf hash
 *   [32, 64)    key hash
 *   [64, 72)    version, float64
 *   [72, 76)    value length (uint32)
 *   [76, 128)   the value, when it fits (INLINE bytes); longer ones are in `long`
 */
const KEY_HASH = 32
const VERSION = 64
const LENGTH = 72
const VALUE = 76
const RECORD = 128
const INLINE = RECORD - VALUE

export class LeafTable {
  private readonly table: RecordTable
  /** Values over INLINE bytes, by leaf hash (latin1). */
  private readonly long = new Map<string, Uint8Array>()

  constructor (readonly capacity: number, slots: SlotFunction = randomSlotFunction()) {
    this.table = new RecordTable(capacity, RECORD, slots, () => false)
  }

  get size (): number {
    return this.table.size
  }

  /** Holds `leaf`, created at `version`; false if the table is full. */
  set (leaf: LeafNode, version: number): boolean {
    const r = this.table.claim(leaf.hash)
    if (r < 0) return false
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    s.bytes.set(leaf.keyHash, at + KEY_HASH)
    s.f64[(at + VERSION) / 8] = version
    s.u32[(at + LENGTH) / 4] = leaf.value.length
    if (leaf.value.length <= INLINE) s.bytes.set(leaf.value, at + VALUE)
    else this.long.set(toLatin1(leaf.hash), Uint8Array.from(leaf.value))
    return true
  }

  /** A copy of the leaf with this hash, or undefined. */
  get (hash: Uint8Array): LeafNode | undefined {
    const r = this.table.find(hash)
    if (r < 0) return undefined
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    const length = s.u32[(at + LENGTH) / 4]!
    const value = length <= INLINE ? s.bytes.slice(at + VALUE, at + VALUE + length) : Uint8Array.from(this.long.get(toLatin1(hash))!)
    return { kind: 'leaf', hash: s.bytes.slice(at, at + 32), keyHash: s.bytes.slice(at + KEY_HASH, at + KEY_HASH + 32), value }
  }

  versionOf (hash: Uint8Array): number | undefined {
    const r = this.table.find(hash)
    return r < 0 ? undefined : this.table.slab(r).f64[(this.table.offset(r) + VERSION) / 8]!
  }

  delete (hash: Uint8Array): void {
    const r = this.table.find(hash)
    if (r < 0) return
    if (this.table.slab(r).u32[(this.table.offset(r) + LENGTH) / 4]! > INLINE) this.long.delete(toLatin1(hash))
    this.table.remove(hash)
  }
}
