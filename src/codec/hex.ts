import { DecodeError } from '../errors.js'

export function toHex (bytes: Uint8Array): string {
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
