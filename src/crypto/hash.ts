import { hash as oneShot } from 'node:crypto'

export const HASH_BYTES = 32

/**
 * SHA-256 of `data` as a fresh 32-byte array, through OpenSSL.
 *
 * Why the digest comes back as a latin1 ('binary') string: asked for a Buffer, node:crypto allocates an
 * off-heap backing store for every 32-byte digest, which V8 tracks and sweeps like any
 * ArrayBuffer; a short string and a 32-byte array (small enough to live on the JS heap) cost
 * about half as much per hash here (0.46-0.55 against 0.87-1.02 us for a 534-byte input,
 * docs/performance.md, twenty-first session). A validator computes ~15 digests per tx.
 */
export function sha256Digest (data: Uint8Array): Uint8Array {
  // 'binary' is Node's name for latin1: one char per byte.
  const s = oneShot('sha256', data, 'binary')
  const out = new Uint8Array(HASH_BYTES)
  for (let i = 0; i < HASH_BYTES; i++) out[i] = s.charCodeAt(i)
  return out
}

/**
 * SHA-256 through OpenSSL (~9x faster than a pure-JS hash here), one-shot: a Hash object per
 * call (createHash, update, digest) cost more than hashing a transaction's bytes.
 */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  return sha256Digest(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
}

// "tag" || 0x00 for the handful of tags in use, built once.
const prefixes = new Map<string, Buffer>()

function prefixOf (tag: string): Buffer {
  let p = prefixes.get(tag)
  if (p === undefined) {
    p = Buffer.concat([Buffer.from(tag, 'utf8'), Buffer.of(0)])
    if (prefixes.size < 64) prefixes.set(tag, p)
  }
  return p
}

/** Domain-separated hash: a tag byte string first, so hashes of different types never collide. */
export function taggedHash (tag: string, ...parts: Uint8Array[]): Uint8Array {
  return sha256Digest(Buffer.concat([prefixOf(tag), ...parts]))
}
