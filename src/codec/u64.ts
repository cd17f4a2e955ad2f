/**
 * Unsigned 64-bit big-endian integers (0 <= v <= 2^53 - 1) in storage keys and records, so
 * LevelDB's byte order is numeric order. Written as two 32-bit halves: a BigInt and a DataView
 * per key showed in a validator's profile (every tree node's key carries one).
 */
export function writeU64 (out: Uint8Array, pos: number, v: number): void {
  const hi = Math.floor(v / 0x1_0000_0000)
  const lo = v >>> 0
  out[pos] = hi >>> 24; out[pos + 1] = hi >>> 16; out[pos + 2] = hi >>> 8; out[pos + 3] = hi
  out[pos + 4] = lo >>> 24; out[pos + 5] = lo >>> 16; out[pos + 6] = lo >>> 8; out[pos + 7] = lo
}

export function readU64 (b: Uint8Array, pos: number): number {
  const hi = ((b[pos]! << 24) | (b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!) >>> 0
  const lo = ((b[pos + 4]! << 24) | (b[pos + 5]! << 16) | (b[pos + 6]! << 8) | b[pos + 7]!) >>> 0
  return hi * 0x1_0000_0000 + lo
}

/** `v` as 8 bytes. */
export function u64Bytes (v: number): Uint8Array {
  const out = new Uint8Array(8)
  writeU64(out, 0, v)
  return out
}
