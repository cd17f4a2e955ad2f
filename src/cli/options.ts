import { InvalidArgumentError } from 'commander'
import { isAddress } from '../crypto/address.js'

/** Parsers for commander options: bad values fail with one line naming the flag's rule. */

export function intArg (name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    if (!/^-?[0-9]+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`)
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be in ${min}..${max}, got ${v}`)
    return n
  }
}

export const U64_MAX = (1n << 64n) - 1n

/** A positive whole amount up to 2^64-1; a number when it fits exactly, else a bigint (as the bank contract accepts both). */
export function amountArg (v: string): number | bigint {
  if (!/^[0-9]+$/.test(v)) throw new InvalidArgumentError(`amount must be a positive whole number, got "${v}"`)
  const b = BigInt(v)
  if (b < 1n || b > U64_MAX) throw new InvalidArgumentError(`amount must be in 1..${U64_MAX}, got ${v}`)
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b
}

export function addressArg (v: string): string {
  if (!isAddress(v)) throw new InvalidArgumentError(`"${v}" is not an address (40 lowercase hex characters)`)
  return v
}

export function urlListArg (v: string): string[] {
  const urls = v.split(',').map(s => s.trim()).filter(s => s !== '')
  if (urls.length === 0) throw new InvalidArgumentError('give at least one node URL')
  for (const u of urls) {
    let url: URL
    try {
      url = new URL(u)
    } catch {
      throw new InvalidArgumentError(`"${u}" is not a URL (expected e.g. http://127.0.0.1:26657)`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${u}" must be an http:// or https:// URL`)
  }
  return urls
}

export function hashArg (name: string): (v: string) => string {
  return (v: string) => {
    if (!/^[0-9a-f]{64}$/.test(v)) throw new InvalidArgumentError(`${name} must be 64 lowercase hex characters, got "${v}"`)
    return v
  }
}

/** The node the CLI talks to when --node is not given: localnet's first validator. */
export const DEFAULT_NODE = process.env.BFT_NODE ?? 'http://127.0.0.1:26657'
