import { CorruptionError } from '../errors.js'

/**
 * A state journal record: the keys one committed update wrote, and the root it gave, stored in
 * the same batch as the update while the tree nodes it created are only in memory (store.ts).
 * On open, the store rebuilds the tree from the last flushed one and the current values (the
 * flat state, written in the same batches) of every key the records name, and checks it gives
 * the root of the last record.
 *
 *   root (32) || count (u32 BE) || count x ( keyLen (u16 BE) || key )
 *
 * Keys only: the flat state holds their values as of the last record, and that is the tree the
 * store needs back; the intermediate trees are not rebuilt.
 */
export interface JournalRecord { root: Uint8Array, keys: Uint8Array[] }

const MAX_KEY_BYTES = 0xffff

export function encodeJournal (root: Uint8Array, keys: readonly Uint8Array[]): Uint8Array {
  let size = 32 + 4
  for (const k of keys) {
    if (k.length > MAX_KEY_BYTES) throw new RangeError(`state key of ${k.length} bytes is too long for the journal`)
    size += 2 + k.length
  }
  const out = Buffer.allocUnsafe(size)
  out.set(root, 0)
  out.writeUInt32BE(keys.length, 32)
  let pos = 36
  for (const k of keys) {
    out[pos] = k.length >> 8
    out[pos + 1] = k.length & 0xff
    pos += 2
    for (let i = 0; i < k.length; i++) out[pos + i] = k[i]!
    pos += k.length
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/** Decodes a record (keys are views into `bytes`); anything malformed is ERR_CORRUPT naming the version. */
export function decodeJournal (bytes: Uint8Array, version: number): JournalRecord {
  const bad = (why: string): never => { throw new CorruptionError(`state journal record of version ${version} is malformed: ${why}`) }
  if (bytes.length < 36) bad(`${bytes.length} bytes, at least 36 expected`)
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(32)
  const keys: Uint8Array[] = []
  let pos = 36
  for (let i = 0; i < count; i++) {
    if (pos + 2 > bytes.length) bad(`key ${i} of ${count} is truncated`)
    const len = (bytes[pos]! << 8) | bytes[pos + 1]!
    if (pos + 2 + len > bytes.length) bad(`key ${i} of ${count} is truncated`)
    keys.push(bytes.subarray(pos + 2, pos + 2 + len))
    pos += 2 + len
  }
  if (pos !== bytes.length) bad(`${bytes.length - pos} bytes after the last key`)
  return { root: bytes.subarray(0, 32), keys }
}
