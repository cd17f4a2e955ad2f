import { toHex } from '../codec/hex.js'

/**
 * Values decoded from canonical CBOR may hold bigints and byte strings, which JSON.stringify
 * rejects or mangles: bigints become decimal strings and bytes become hex.
 */
export function jsonReplacer (_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return toHex(value)
  return value
}

export function toJson (value: unknown): string {
  return JSON.stringify(value, jsonReplacer)
}
