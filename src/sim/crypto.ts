import { createHash } from 'node:crypto'
import { keyPairFromSeed, sha256, sign as edSign, verify as edVerify } from '../crypto/index.js'
import type { ConsensusCrypto, Validator } from '../consensus/types.js'

export type CryptoKind = 'sim' | 'real'

/**
 * Keys and signing for a simulated cluster. `sim` is a deterministic stand-in about 50x
 * cheaper than ed25519: signature = sha256(secret || msg) || sha256(msg || secret), checked by
 * recomputing with the secret the simulator holds for the claimed public key. A Byzantine
 * replica only holds its own secret, so it can no more forge another's signature than with
 * ed25519. `real` uses the node's ed25519 path.
 */
export interface CryptoSuite {
  kind: CryptoKind
  validators: Validator[]
  /** The crypto handed to replica i: signs with i's key only. */
  forReplica: (i: number) => ConsensusCrypto
}

export function createCryptoSuite (kind: CryptoKind, seed: number, n: number): CryptoSuite {
  const secrets: Uint8Array[] = []
  const validators: Validator[] = []
  for (let i = 0; i < n; i++) {
    const secret = sha256(new TextEncoder().encode(`bft-ledger/sim/key/${seed}/${i}`))
    secrets.push(secret)
    validators.push({ publicKey: kind === 'real' ? keyPairFromSeed(secret).publicKey : sha256(new TextEncoder().encode('sim-pk'), secret) })
  }
  if (kind === 'real') {
    return {
      kind,
      validators,
      forReplica: (i) => ({
        sign: (m) => edSign(m, secrets[i]!),
        verify: (sig, m, pk) => edVerify(sig, m, pk),
        hash
      })
    }
  }
  const secretByKey = new Map<string, Uint8Array>()
  validators.forEach((v, i) => secretByKey.set(Buffer.from(v.publicKey).toString('hex'), secrets[i]!))
  const verify = (sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean => {
    if (!(sig instanceof Uint8Array) || sig.length !== 64 || !(pk instanceof Uint8Array)) return false
    const secret = secretByKey.get(Buffer.from(pk).toString('hex'))
    if (secret === undefined) return false
    return Buffer.compare(simSign(secret, m), sig) === 0
  }
  return { kind, validators, forReplica: (i) => ({ sign: (m) => simSign(secrets[i]!, m), verify, hash }) }
}

function simSign (secret: Uint8Array, m: Uint8Array): Uint8Array {
  const a = createHash('sha256').update(secret).update(m).digest()
  const b = createHash('sha256').update(m).update(secret).digest()
  const out = new Uint8Array(64)
  out.set(a, 0); out.set(b, 32)
  return out
}

function hash (...parts: Uint8Array[]): Uint8Array {
  return sha256(...parts)
}
