import { createHash } from 'node:crypto'
import { keyPairFromSeed, address, type KeyPair } from '../src/crypto/index.js'

export interface Sender extends KeyPair {
  address: string
}

/** Sender i's key is sha256("bft-bench/<seed>/sender/<i>"): a run can be replayed from its seed. */
export function makeSenders (count: number, seed: number): Sender[] {
  return Array.from({ length: count }, (_, i) => {
    const secret = new Uint8Array(createHash('sha256').update(`bft-bench/${seed}/sender/${i}`).digest())
    const kp = keyPairFromSeed(secret)
    return { ...kp, address: address(kp.publicKey) }
  })
}

/**
 * Funded accounts that never send: they only make the state large. Their addresses are hashes
 * (no key pair needed), which keeps 1M of them cheap to make.
 */
export function makeFillerAddresses (count: number, seed: number): string[] {
  const out = new Array<string>(count)
  for (let i = 0; i < count; i++) out[i] = createHash('sha256').update(`bft-bench/${seed}/filler/${i}`).digest('hex').slice(0, 40)
  return out
}
