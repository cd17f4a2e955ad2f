import { fromLatin1, toLatin1 } from '../codec/hex.js'
import { Lru } from './lru.js'
import { randomSlotFunction, RecordTable, type SlotFunction } from './record-table.js'

/**
 * The committed flat state's values (and keys known to be absent) by key hash (sha256 of the
 * state key, as the tree uses), kept off the JS heap: fixed 128-byte records in a RecordTable
 * (record-table.ts). A value too long for a record goes to a small on-heap LRU instead.
 *
 * Record layout:
 *   [0, 32)    key hash
 *   [32, 34)   value length (uint16, little-endian)
 *   [34]       1 = the key is absent from the state, 0 = a value follows
 *   [36, 128)  the value (up to MAX_INLINE bytes)
 *
 * Why off the heap: at 1M accounts the whole state is in this cache (StateStore.open loads it),
 * and as a Map of a hex key string and a value string per entry it was two million heap objects
 * that every major GC marked, while each block replaced a thousand of them in the old
 * generation.
 */
const RECORD = 128
const LENGTH = 32
const ABSENT = 34
const VALUE = 36
export const MAX_INLINE = RECORD - VALUE

export class ValueCache {
  private readonly table: RecordTable
  /** Values over MAX_INLINE bytes (contract records), keyed by the key hash as latin1. */
  private readonly large: Lru<string, string>

  /** `slots` fixes the slot function (tests); by default it is drawn at random. */
  constructor (readonly capacity: number, slots: SlotFunction = randomSlotFunction()) {
    this.table = new RecordTable(capacity, RECORD, slots)
    this.large = new Lru(Math.min(capacity, Math.max(1024, Math.floor(capacity / 16))))
  }

  /** Entries cached (values and known-absent keys). */
  get size (): number {
    return this.table.size + this.large.size
  }

  /**
   * The cached value of the key with this hash: a fresh copy (in Node's shared Buffer pool, as
   * a plain Uint8Array), null if the key is known absent, undefined if not cached.
   */
  get (keyHash: Uint8Array): Uint8Array | null | undefined {
    const r = this.table.find(keyHash)
    if (r < 0) {
      if (this.large.size === 0) return undefined
      const v = this.large.get(toLatin1(keyHash))
      return v === undefined ? undefined : fromLatin1(v)
    }
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    if (s.bytes[at + ABSENT] === 1) return null
    const n = s.bytes[at + LENGTH]! | (s.bytes[at + LENGTH + 1]! << 8)
    const b = Buffer.allocUnsafe(n)
    b.set(s.bytes.subarray(at + VALUE, at + VALUE + n))
    return new Uint8Array(b.buffer, b.byteOffset, n)
  }

  /** Whether the key with this hash is cached (as a value or as absent), without a copy. */
  has (keyHash: Uint8Array): boolean {
    return this.table.find(keyHash) >= 0 || (this.large.size > 0 && this.large.get(toLatin1(keyHash)) !== undefined)
  }

  /** Caches the key's committed value (null: absent), replacing what was cached for it. */
  set (keyHash: Uint8Array, value: Uint8Array | null): void {
    if (value !== null && value.length > MAX_INLINE) {
      this.table.remove(keyHash)
      this.large.set(toLatin1(keyHash), toLatin1(value))
      return
    }
    if (this.large.size > 0) this.large.delete(toLatin1(keyHash))
    const r = this.table.claim(keyHash)
    if (r < 0) return
    const s = this.table.slab(r)
    const at = this.table.offset(r)
    const n = value === null ? 0 : value.length
    s.bytes[at + LENGTH] = n & 0xff
    s.bytes[at + LENGTH + 1] = n >> 8
    s.bytes[at + ABSENT] = value === null ? 1 : 0
    if (value !== null) s.bytes.set(value, at + VALUE)
  }

  delete (keyHash: Uint8Array): void {
    this.table.remove(keyHash)
    this.large.delete(toLatin1(keyHash))
  }
}
