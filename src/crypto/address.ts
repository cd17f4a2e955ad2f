import { taggedHash } from './hash.js'

export const ADDRESS_BYTES = 20

/** An account address: the first 20 bytes of a tagged hash of the ed25519 public key, as 40 hex chars. */
export function address (publicKey: Uint8Array): string {
  return Buffer.from(taggedHash('bft-ledger/address', publicKey).subarray(0, ADDRESS_BYTES)).toString('hex')
}

export function isAddress (s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{40}$/.test(s)
}
