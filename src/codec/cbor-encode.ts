/**
 * Direct canonical CBOR encoder: the bytes cborg's RFC 8949 deterministic mode produces, written
 * in one pass into a reused buffer. Profiles of a validator under load showed cborg's encoder
 * (value -> token list -> bytes, with a map sorter that encodes every key twice) at ~9 % of all
 * CPU, most of it in committing blocks and receipts. The property test in
 * test/codec/cbor-encode.test.ts checks byte equality with cborg on random values.
 *
 * Only the value domain of codec/cbor.ts is accepted (safe integers, bigints in the 64-bit CBOR
 * range, well-formed strings, booleans, null, Uint8Array, arrays and plain objects, nesting at
 * most `maxDepth`). Anything else throws Unencodable; the caller then finds and reports the
 * problem with its own path-aware walker, so this hot path carries no path strings.
 */

export class Unencodable extends Error {}

const U64_LIMIT = 1n << 64n
const U32_LIMIT = 0x1_0000_0000
const FORBIDDEN_KEY = '__proto__'

let buf = Buffer.allocUnsafe(64 * 1024)
let pos = 0

function ensure (n: number): void {
  if (pos + n <= buf.length) return
  let size = buf.length * 2
  while (size < pos + n) size *= 2
  const next = Buffer.allocUnsafe(size)
  buf.copy(next, 0, 0, pos)
  buf = next
}

function head (major: number, n: number): void {
  ensure(9)
  const m = major << 5
  if (n < 24) {
    buf[pos++] = m | n
  } else if (n < 0x100) {
    buf[pos++] = m | 24
    buf[pos++] = n
  } else if (n < 0x10000) {
    buf[pos++] = m | 25
    buf[pos++] = n >>> 8
    buf[pos++] = n & 0xff
  } else if (n < U32_LIMIT) {
    buf[pos++] = m | 26
    buf.writeUInt32BE(n, pos)
    pos += 4
  } else {
    buf[pos++] = m | 27
    buf.writeUInt32BE(Math.floor(n / U32_LIMIT), pos)
    buf.writeUInt32BE(n % U32_LIMIT, pos + 4)
    pos += 8
  }
}

function headBig (major: number, n: bigint): void {
  if (n < BigInt(Number.MAX_SAFE_INTEGER)) { head(major, Number(n)); return }
  ensure(9)
  buf[pos++] = (major << 5) | 27
  buf.writeBigUInt64BE(n, pos)
  pos += 8
}

function text (s: string): void {
  // Lone surrogates would become U+FFFD, so the value would not round-trip.
  if (!s.isWellFormed()) throw new Unencodable()
  const n = s.length
  let ascii = n < 24
  if (ascii) {
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break }
  }
  if (ascii) {
    ensure(1 + n)
    buf[pos++] = 0x60 | n
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i)
    return
  }
  const len = Buffer.byteLength(s, 'utf8')
  head(3, len)
  ensure(len)
  pos += buf.write(s, pos, len, 'utf8')
}

function bytes (b: Uint8Array): void {
  head(2, b.length)
  ensure(b.length)
  buf.set(b, pos)
  pos += b.length
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

// Memo of encoded map keys: the same few dozen field names recur in every record.
const keyCache = new Map<string, Uint8Array>()
function encodedKey (k: string): Uint8Array {
  let e = keyCache.get(k)
  if (e === undefined) {
    if (!k.isWellFormed() || k === FORBIDDEN_KEY) throw new Unencodable()
    const utf8 = Buffer.from(k, 'utf8')
    const start = pos
    head(3, utf8.length)
    e = new Uint8Array(pos - start + utf8.length)
    e.set(buf.subarray(start, pos), 0)
    e.set(utf8, pos - start)
    pos = start
    if (keyCache.size < 4096) keyCache.set(k, e)
  }
  return e
}

interface KeyOrder { keys: string[], sorted: ReadonlyArray<{ k: string, e: Uint8Array }> }

/**
 * Canonical order of a field-name sequence, by its first name. Records of one kind share one
 * sequence, so it is sorted once per kind and not once per record: the sort, its array and an
 * object per field were ~6 % of the bytes a validator allocated under load (docs/performance.md,
 * nineteenth session). Bounded (shapes per first name, shapes in all) so objects with
 * arbitrary keys cannot grow it or make a lookup scan long.
 */
const orderCache = new Map<string, KeyOrder[]>()
const MAX_SHAPES_PER_NAME = 8
const MAX_SHAPES = 1024
let shapes = 0

function sameKeys (a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function keyOrder (keys: string[]): ReadonlyArray<{ k: string, e: Uint8Array }> {
  const first = keys.length === 0 ? '' : keys[0]!
  const known = orderCache.get(first)
  if (known !== undefined) for (const o of known) if (sameKeys(o.keys, keys)) return o.sorted
  const sorted = keys.map(k => ({ k, e: encodedKey(k) }))
  sorted.sort((a, b) => compareBytes(a.e, b.e))
  if (shapes < MAX_SHAPES && (known === undefined || known.length < MAX_SHAPES_PER_NAME)) {
    shapes++
    if (known === undefined) orderCache.set(first, [{ keys, sorted }])
    else known.push({ keys, sorted })
  }
  return sorted
}

function value (v: unknown, depth: number, maxDepth: number): void {
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v)) throw new Unencodable()
      if (v >= 0) head(0, v)
      else head(1, -1 - v)
      return
    case 'string':
      text(v)
      return
    case 'bigint':
      if (v >= 0n) {
        if (v >= U64_LIMIT) throw new Unencodable()
        headBig(0, v)
      } else {
        if (v < -U64_LIMIT) throw new Unencodable()
        headBig(1, -1n - v)
      }
      return
    case 'boolean':
      ensure(1)
      buf[pos++] = v ? 0xf5 : 0xf4
      return
    case 'object': {
      if (v === null) { ensure(1); buf[pos++] = 0xf6; return }
      if (v instanceof Uint8Array) { bytes(v); return }
      if (depth >= maxDepth) throw new Unencodable()
      if (Array.isArray(v)) {
        head(4, v.length)
        for (let i = 0; i < v.length; i++) value(v[i], depth + 1, maxDepth)
        return
      }
      const proto: unknown = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) throw new Unencodable()
      const obj = v as Record<string, unknown>
      const entries = keyOrder(Object.keys(obj))
      head(5, entries.length)
      for (const { k, e } of entries) {
        ensure(e.length)
        buf.set(e, pos)
        pos += e.length
        value(obj[k], depth + 1, maxDepth)
      }
      return
    }
    default:
      throw new Unencodable()
  }
}

let active = 0

/** Canonical encoding of `v` as a fresh Uint8Array that owns exactly its bytes; throws Unencodable. */
export function encodeCanonical (v: unknown, maxDepth: number): Uint8Array {
  if (active > 0) {
    // Re-entered (an accessor property of a plain object encoding something while we encode):
    // the nested call gets a buffer of its own and the outer one continues where it was.
    const outerBuf = buf
    const outerPos = pos
    buf = Buffer.allocUnsafe(1024)
    try {
      return encodeInto(v, maxDepth)
    } finally {
      buf = outerBuf
      pos = outerPos
    }
  }
  active++
  try {
    return encodeInto(v, maxDepth)
  } finally {
    active--
  }
}

function encodeInto (v: unknown, maxDepth: number): Uint8Array {
  pos = 0
  try {
    value(v, 0, maxDepth)
  } catch (err) {
    // A recursion deeper than the stack (not reachable with maxDepth 64) is unencodable too.
    if (err instanceof RangeError) throw new Unencodable()
    throw err
  }
  const out = new Uint8Array(pos)
  out.set(buf.subarray(0, pos))
  // A huge value must not pin a huge scratch buffer for the life of the process.
  if (buf.length > 16 * 1024 * 1024) buf = Buffer.allocUnsafe(64 * 1024)
  return out
}
