/**
 * Short-lived byte arrays carved out of shared 1 MiB chunks (a bump allocator).
 *
 * Why: a Uint8Array over 64 bytes gets its own off-heap backing store, which V8 mallocs, tracks
 * as an ArrayBuffer extension and sweeps after it dies, and whose bytes count as external memory
 * that pushes the collector towards major GCs; so does a small array the LevelDB binding reads
 * (it moves each into a backing store of its own). A block's batch has thousands of keys and
 * values (db.ts); views into one chunk make one backing store per MiB. (Until the twenty-fourth
 * session the state tree made several 512-byte arrays per node a block touched here too.)
 *
 * Only for arrays that die soon (within a block's commit): a view keeps its whole chunk alive.
 */
const CHUNK_BYTES = 1 << 20
/** Larger requests get their own array: they would waste a chunk's tail. */
const MAX_ARENA_BYTES = 4096

let chunk = new ArrayBuffer(CHUNK_BYTES)
let pos = 0

/** A zero-filled array of n bytes, possibly a view into a shared chunk. */
export function arenaBytes (n: number): Uint8Array {
  if (n > MAX_ARENA_BYTES) return new Uint8Array(n)
  if (pos + n > CHUNK_BYTES) {
    chunk = new ArrayBuffer(CHUNK_BYTES)
    pos = 0
  }
  const out = new Uint8Array(chunk, pos, n)
  // 8-aligned, so a caller may lay wider typed views over a request of its own.
  pos += (n + 7) & ~7
  return out
}

/** A copy of src[from, to) in the arena. */
export function arenaCopy (src: Uint8Array, from = 0, to = src.length): Uint8Array {
  const out = arenaBytes(to - from)
  out.set(src.subarray(from, to))
  return out
}
