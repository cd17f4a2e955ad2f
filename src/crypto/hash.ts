import { hash as oneShot } from 'node:crypto'

export const HASH_BYTES = 32

function view (d: Buffer): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

function buffer (u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength)
}

/**
 * SHA-256 through OpenSSL (~9x faster than a pure-JS hash here), one-shot: a Hash object per
 * call (createHash, update, digest) cost more than hashing a transaction's bytes.
 */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  return view(oneShot('sha256', parts.length === 1 ? buffer(parts[0]!) : Buffer.concat(parts), 'buffer'))
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
  return view(oneShot('sha256', Buffer.concat([prefixOf(tag), ...parts]), 'buffer'))
}
