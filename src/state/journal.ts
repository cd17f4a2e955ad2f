import { CorruptionError } from '../errors.js'
import type { StateWrite } from './api.js'

/**
 * A state journal record: what one committed update wrote and the root it gave. The store
 * writes the tree's internal nodes to LevelDB only every few updates (store.ts, flushEvery);
 * each update in between puts this record into its own batch instead, and open() replays the
 * records after the last flush, in order, to rebuild in memory the nodes a crash lost. The
 * values are in the record (and not only in the flat state) because the replay redoes each
 * update as it was: the same nodes at the same versions, checked against each record's root.
 *
 *   root (32) || count (u32 BE) || count x ( keyLen (u16 BE) || key || valueLen (u32 BE,
 *   0xffffffff: deleted) || value )
 */
export interface JournalRecord { root: Uint8Array, writes: StateWrite[] }

const DELETED = 0xffffffff
const MAX_KEY_BYTES = 0xffff

export function encodeJournal (root: Uint8Array, writes: readonly StateWrite[]): Uint8Array {
  let size = 36
  for (const w of writes) {
    if (w.key.length > MAX_KEY_BYTES) throw new RangeError(`state key of ${w.key.length} bytes is too long for the journal`)
    size += 6 + w.key.length + (w.value === null ? 0 : w.value.length)
  }
  const out = Buffer.allocUnsafe(size)
  out.set(root, 0)
  out.writeUInt32BE(writes.length, 32)
  let pos = 36
  for (const w of writes) {
    out.writeUInt16BE(w.key.length, pos)
    out.set(w.key, pos + 2)
    pos += 2 + w.key.length
    if (w.value === null) {
      out.writeUInt32BE(DELETED, pos)
      pos += 4
    } else {
      out.writeUInt32BE(w.value.length, pos)
      out.set(w.value, pos + 4)
      pos += 4 + w.value.length
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/** Decodes a record (keys and values are views into `bytes`); anything malformed is ERR_CORRUPT naming the version. */
export function decodeJournal (bytes: Uint8Array, version: number): JournalRecord {
  const bad = (why: string): never => { throw new CorruptionError(`state journal record of version ${version} is malformed: ${why}`) }
  if (bytes.length < 36) bad(`${bytes.length} bytes, at least 36 expected`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(32)
  const writes: StateWrite[] = []
  let pos = 36
  for (let i = 0; i < count; i++) {
    if (pos + 2 > bytes.length) bad(`write ${i} of ${count} is truncated`)
    const keyLen = view.getUint16(pos)
    if (pos + 2 + keyLen + 4 > bytes.length) bad(`write ${i} of ${count} is truncated`)
    const key = bytes.subarray(pos + 2, pos + 2 + keyLen)
    pos += 2 + keyLen
    const valueLen = view.getUint32(pos)
    pos += 4
    if (valueLen === DELETED) {
      writes.push({ key, value: null })
      continue
    }
    if (pos + valueLen > bytes.length) bad(`value of write ${i} of ${count} is truncated`)
    writes.push({ key, value: bytes.subarray(pos, pos + valueLen) })
    pos += valueLen
  }
  if (pos !== bytes.length) bad(`${bytes.length - pos} bytes after the last write`)
  return { root: bytes.subarray(0, 32), writes }
}
