import { decodeFirst as cborDecodeFirst, Tokenizer, Type, type Token } from 'cborg'
import { encodeCanonical, Unencodable } from './cbor-encode.js'
import { DecodeError, ValidationError, errorMessage } from '../errors.js'

/** Hard ceiling for any single encoded value (wire frame or stored record). */
export const MAX_ENCODED_BYTES = 8 * 1024 * 1024

/**
 * Deepest nesting of arrays/maps accepted. Real types nest a handful of levels; the limit exists
 * because cborg (and our own walkers) recurse, and 100 KB of 0x81 bytes would otherwise end in a
 * RangeError (stack overflow) instead of a DecodeError.
 */
export const MAX_DEPTH = 64

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: true,
  rejectDuplicateMapKeys: true,
  useMaps: false
} as const

// Assigning this key on a plain object replaces its prototype instead of adding a field.
const FORBIDDEN_KEY = '__proto__'

interface OpenContainer {
  remaining: number
  readonly isMap: boolean
  readonly count: number
  // Byte range of the map's previous key, for the canonical order check.
  keyStart: number
  keyEnd: number
}

// cborg's own string decoding is exact only for valid UTF-8 without a leading BOM (its
// TextDecoder replaces bad bytes with U+FFFD and strips a BOM), so non-ASCII strings are decoded
// again with a decoder that refuses the first and keeps the second.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Bytes of a CBOR head for an additional-information value (minor) that carries a length. */
function headLength (minor: number): number {
  return minor < 24 ? 1 : minor === 24 ? 2 : minor === 25 ? 3 : minor === 26 ? 5 : 9
}

/** Bytewise comparison of data[a0, a1) and data[b0, b1): negative, zero or positive. */
function compareRanges (data: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0)
  for (let i = 0; i < n; i++) {
    const d = data[a0 + i]! - data[b0 + i]!
    if (d !== 0) return d
  }
  return (a1 - a0) - (b1 - b0)
}

/**
 * Sees every token cborg reads, in order, before cborg builds a value from it. That is where the
 * canonical form is enforced without re-encoding and without recursion of our own: depth, tags,
 * floats, key types and order, strict UTF-8 (cborg's strict mode covers minimal integers and
 * lengths, indefinite lengths and undefined).
 */
class GuardedTokenizer extends Tokenizer {
  private readonly open: OpenContainer[] = []
  private maxDepth = MAX_DEPTH

  constructor () {
    super(new Uint8Array(0), DECODE_OPTIONS)
  }

  /** Decoding is synchronous and calls no user code, so one instance serves every call. */
  reset (data: Uint8Array, maxDepth: number): this {
    this.data = data
    this._pos = 0
    this.open.length = 0
    this.maxDepth = maxDepth
    return this
  }

  override next (): Token {
    const at = this.pos()
    const token = super.next()
    const end = this.pos()
    const isString = Type.equals(token.type, Type.string)
    if (isString) this.strictString(token, at, end)
    const parent = this.open[this.open.length - 1]
    if (parent !== undefined) {
      const index = parent.count - parent.remaining
      parent.remaining--
      if (parent.isMap && index % 2 === 0) {
        if (!isString) {
          throw new DecodeError(`map key at byte ${at} is a ${token.type.name}; only text keys are allowed`, { offset: at })
        }
        if (token.value === FORBIDDEN_KEY) throw new DecodeError(`map key "${FORBIDDEN_KEY}" at byte ${at} is not allowed`, { offset: at })
        // RFC 8949 4.2.1: keys sorted by the bytes of their encodings (so shorter first), no repeats.
        if (index > 0 && compareRanges(this.data, parent.keyStart, parent.keyEnd, at, end) >= 0) {
          throw new DecodeError(`map key at byte ${at} is out of canonical order or repeated`, { offset: at })
        }
        parent.keyStart = at
        parent.keyEnd = end
      }
    }
    if (Type.equals(token.type, Type.tag)) {
      throw new DecodeError(`CBOR tag ${String(token.value)} at byte ${at} is not allowed`, { offset: at })
    }
    if (Type.equals(token.type, Type.float)) {
      throw new DecodeError(`floating-point value at byte ${at} is not allowed`, { offset: at })
    }
    if (Type.equals(token.type, Type.array) || Type.equals(token.type, Type.map)) {
      if (this.open.length >= this.maxDepth) {
        throw new DecodeError(`nesting deeper than ${this.maxDepth} at byte ${at}`, { offset: at, limit: this.maxDepth })
      }
      const n = Number(token.value)
      const count = Type.equals(token.type, Type.map) ? n * 2 : n
      // Every item takes at least one byte, so a claimed count beyond the input is a lie we can
      // refuse now instead of letting the builder loop until it runs out of data.
      if (count > this.data.length - end) {
        throw new DecodeError(`${token.type.name} at byte ${at} claims ${n} entries but only ${this.data.length - end} bytes follow`, { offset: at })
      }
      if (count > 0) {
        this.open.push({ remaining: count, count, isMap: Type.equals(token.type, Type.map), keyStart: 0, keyEnd: 0 })
        return token
      }
    }
    while (this.open.length > 0 && this.open[this.open.length - 1]!.remaining === 0) this.open.pop()
    return token
  }

  private strictString (token: Token, at: number, end: number): void {
    const start = at + headLength(this.data[at]! & 31)
    for (let i = start; i < end; i++) {
      if (this.data[i]! >= 0x80) {
        try {
          token.value = STRICT_UTF8.decode(this.data.subarray(start, end))
        } catch {
          throw new DecodeError(`text string at byte ${at} is not valid UTF-8`, { offset: at })
        }
        return
      }
    }
  }
}

const sharedTokenizer = new GuardedTokenizer()
const SHARED_OPTIONS = { ...DECODE_OPTIONS, tokenizer: sharedTokenizer }
function tokenizerOptions (data: Uint8Array, maxDepth: number): typeof SHARED_OPTIONS {
  sharedTokenizer.reset(data, maxDepth)
  return SHARED_OPTIONS
}

/**
 * Canonical CBOR (RFC 8949 deterministic encoding: shortest integers, sorted map keys, no
 * indefinite lengths). Every wire and storage type goes through here, so two nodes that hold
 * the same value always hold the same bytes and the same hash.
 *
 * Accepted values: safe-integer numbers, bigints, strings (well-formed UTF-16), booleans, null,
 * Uint8Array, arrays and plain objects of those. Anything else (floats, undefined, Map, Date,
 * class instances, cycles, nesting deeper than MAX_DEPTH) is a ValidationError with code
 * ERR_ENCODE, as is an encoding longer than maxBytes.
 */
export function encode (value: unknown, maxBytes: number = MAX_ENCODED_BYTES): Uint8Array {
  let bytes: Uint8Array
  try {
    // A plain Uint8Array that owns exactly its bytes, so `.buffer` is safe to use.
    bytes = encodeCanonical(value, MAX_DEPTH)
  } catch (err) {
    if (!(err instanceof Unencodable)) throw err
    const problem = encodabilityProblem(value, '$', 0) ?? 'value outside the canonical CBOR domain'
    throw new ValidationError('ERR_ENCODE', `cannot encode: ${problem}`)
  }
  if (bytes.length > maxBytes) {
    throw new ValidationError('ERR_ENCODE', `encoding of ${bytes.length} bytes exceeds the limit of ${maxBytes}`, { size: bytes.length, limit: maxBytes })
  }
  return bytes
}

/**
 * Decodes bytes that must be the canonical encoding of a value. Anything else (non-minimal
 * integers, unsorted or duplicate keys, trailing bytes, floats, tags, non-text map keys,
 * nesting deeper than maxDepth, oversized input) is a DecodeError, and nothing else ever
 * escapes: decode(encode(v)) is the only way in, so a peer cannot make two encodings of one
 * message that hash differently.
 *
 * Integers come back as numbers when they are safe integers and as bigints otherwise, whatever
 * type was encoded (5n and 5 have one encoding).
 */
export function decode (bytes: Uint8Array, maxBytes: number = MAX_ENCODED_BYTES, maxDepth: number = MAX_DEPTH): unknown {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('input is not a byte array')
  if (bytes.length === 0) throw new DecodeError('input is empty')
  if (bytes.length > maxBytes) {
    throw new DecodeError(`input of ${bytes.length} bytes exceeds the limit of ${maxBytes}`, { size: bytes.length, limit: maxBytes })
  }
  // Buffer.slice is a view, Uint8Array.slice a copy: decoded byte strings must not alias the input.
  // TextDecoder refuses views of shared memory, so those are copied once up front.
  const data = bytes.buffer instanceof SharedArrayBuffer
    ? new Uint8Array(bytes)
    : Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes
  let value: unknown
  let rest: Uint8Array
  try {
    [value, rest] = cborDecodeFirst(data, tokenizerOptions(data, maxDepth))
  } catch (err) {
    if (err instanceof DecodeError) throw err
    throw new DecodeError(`malformed CBOR: ${errorMessage(err)}`)
  }
  if (rest.length > 0) {
    const end = bytes.length - rest.length
    throw new DecodeError(`${rest.length} trailing bytes after the value, which ends at byte ${end}`, { offset: end })
  }
  // Every rule of the canonical form is enforced token by token above (and by cborg's strict
  // mode), so decode(b) succeeds only if encode(decode(b)) is b: the fuzz test checks exactly
  // that on 100,000 inputs. Not re-encoding halves the cost of decoding a transaction.
  return value
}

// Lone surrogates would be replaced by U+FFFD on encoding, so the value would not round-trip.
const U64_LIMIT = 1n << 64n

const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/** Why a value has no canonical encoding, or null. Recursion depth is bounded, so cycles end here too. */
function encodabilityProblem (value: unknown, path: string, depth: number, maxDepth: number = MAX_DEPTH): string | null {
  switch (typeof value) {
    case 'number':
      // Floats are banned everywhere: execution must be deterministic and hashes must be stable.
      return Number.isSafeInteger(value) ? null : `non-integer or unsafe number ${String(value)} at ${shortPath(path)}`
    case 'string':
      return LONE_SURROGATE.test(value) ? `string with a lone UTF-16 surrogate at ${shortPath(path)}` : null
    case 'bigint':
      // CBOR's integer range is [-2^64, 2^64 - 1]; bignum tags are not used.
      return value >= -U64_LIMIT && value < U64_LIMIT ? null : `integer ${value} outside the 64-bit CBOR range at ${shortPath(path)}`
    case 'boolean':
      return null
    case 'object': {
      if (value === null) return null
      if (value instanceof Uint8Array) return null
      if (depth >= maxDepth) return `nesting deeper than ${maxDepth} (or a cycle) at ${shortPath(path)}`
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const p = encodabilityProblem(value[i], `${path}[${i}]`, depth + 1, maxDepth)
          if (p !== null) return p
        }
        return null
      }
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return `unsupported object type at ${shortPath(path)}`
      for (const k of Object.keys(value)) {
        if (k === FORBIDDEN_KEY) return `key "${FORBIDDEN_KEY}" at ${shortPath(path)}`
        if (LONE_SURROGATE.test(k)) return `key with a lone UTF-16 surrogate at ${shortPath(path)}`
        const p = encodabilityProblem((value as Record<string, unknown>)[k], `${path}.${k}`, depth + 1, maxDepth)
        if (p !== null) return p
      }
      return null
    }
    default:
      return `unsupported ${typeof value} at ${shortPath(path)}`
  }
}

// A cycle makes the path as long as the depth limit allows; the tail is where the problem is.
function shortPath (path: string): string {
  return path.length <= 120 ? path : `$...${path.slice(-100)}`
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  if (a.length > 64) {
    // memcmp in native code; the JS loop is ~10x slower on block-sized inputs.
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
