import { decode as cborDecode, encode as cborEncode, rfc8949EncodeOptions } from 'cborg'
import { DecodeError, errorMessage } from '../errors.js'

/** Hard ceiling for any single encoded value (wire frame or stored record). */
export const MAX_ENCODED_BYTES = 8 * 1024 * 1024

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

/**
 * Canonical CBOR (RFC 8949 deterministic encoding: shortest integers, sorted map keys, no
 * indefinite lengths). Every wire and storage type goes through here, so two nodes that hold
 * the same value always hold the same bytes and the same hash.
 */
export function encode (value: unknown): Uint8Array {
  assertEncodable(value, '$')
  return cborEncode(value, rfc8949EncodeOptions)
}

/**
 * Decodes bytes that must be the canonical encoding of a value. Anything else (non-minimal
 * integers, unsorted or duplicate keys, trailing bytes, floats, oversized input) is a
 * DecodeError: decode(encode(v)) is the only way in, so a peer cannot make two encodings of
 * one message that hash differently.
 */
export function decode (bytes: Uint8Array, maxBytes: number = MAX_ENCODED_BYTES): unknown {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('input is not a byte array')
  if (bytes.length === 0) throw new DecodeError('input is empty')
  if (bytes.length > maxBytes) {
    throw new DecodeError(`input of ${bytes.length} bytes exceeds the limit of ${maxBytes}`, { size: bytes.length, limit: maxBytes })
  }
  let value: unknown
  try {
    value = cborDecode(bytes, DECODE_OPTIONS)
  } catch (err) {
    throw new DecodeError(`malformed CBOR: ${errorMessage(err)}`)
  }
  let again: Uint8Array
  try {
    assertEncodable(value, '$')
    again = cborEncode(value, rfc8949EncodeOptions)
  } catch (err) {
    if (err instanceof DecodeError) throw err
    throw new DecodeError(`value cannot be re-encoded: ${errorMessage(err)}`)
  }
  if (!bytesEqual(again, bytes)) throw new DecodeError('input is not in canonical form')
  return value
}

// Floats are banned everywhere: execution must be deterministic and hashes must be stable.
function assertEncodable (value: unknown, path: string): void {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) throw new DecodeError(`non-integer or unsafe number at ${path}`, { path })
      return
    case 'string': case 'boolean': case 'bigint':
      return
    case 'object':
      if (value === null || value instanceof Uint8Array) return
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) assertEncodable(value[i], `${path}[${i}]`)
        return
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new DecodeError(`unsupported object type at ${path}`, { path })
      }
      for (const [k, v] of Object.entries(value)) assertEncodable(v, `${path}.${k}`)
      return
    default:
      throw new DecodeError(`unsupported ${typeof value} at ${path}`, { path })
  }
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
