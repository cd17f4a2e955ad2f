import { DecodeError } from '../errors.js'

/**
 * Node's Buffer slicers (`hexSlice`, `latin1Slice`), called on any Uint8Array.
 *
 * Why not `Buffer.from(bytes.buffer, ...)`: a typed array of up to 64 bytes (a hash, a
 * digest from crypto/hash.ts) lives on the JS heap, and reading its `.buffer` moves it into a
 * backing store of its own, which V8 then tracks and sweeps; the slicers read the bytes where
 * they are. For fresh 32-byte arrays: 0.05-0.08 against 0.34-0.82 us per call here
 * (docs/performance.md, twenty-first session). They are not in Node's documented API, so each
 * falls back to the Buffer view if a runtime lacks it.
 */
type Slicer = (this: Uint8Array, start: number, end: number) => string
const slicers = Buffer.prototype as unknown as { hexSlice?: Slicer, latin1Slice?: Slicer }
const hexSlice = typeof slicers.hexSlice === 'function' ? slicers.hexSlice : null
const latin1Slice = typeof slicers.latin1Slice === 'function' ? slicers.latin1Slice : null

export function toHex (bytes: Uint8Array): string {
  if (hexSlice !== null) return hexSlice.call(bytes, 0, bytes.length)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Strict hex: even length, hex digits only (either case), optional exact length in bytes. */
export function fromHex (hex: string, expectedBytes?: number, what = 'hex string'): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new DecodeError(`${what} is not valid hex`)
  }
  if (expectedBytes !== undefined && hex.length !== expectedBytes * 2) {
    throw new DecodeError(`${what} must be ${expectedBytes} bytes (${expectedBytes * 2} hex chars), got ${hex.length / 2}`)
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/** Bytes as a latin1 string, one char per byte: half the length of hex, for map keys and compact copies. */
export function toLatin1 (bytes: Uint8Array): string {
  if (latin1Slice !== null) return latin1Slice.call(bytes, 0, bytes.length)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/** The bytes of a latin1 string (toLatin1's inverse) as a plain Uint8Array. */
export function fromLatin1 (s: string): Uint8Array {
  const b = Buffer.from(s, 'latin1')
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

const encoder = new TextEncoder()
export function utf8 (s: string): Uint8Array {
  return encoder.encode(s)
}
