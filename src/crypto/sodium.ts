import { createRequire } from 'node:module'

/** The few libsodium calls the node uses (sodium-native), typed here: the package ships no types. */
export interface SodiumEd25519 {
  /** libsodium's ed25519 verify: cofactorless, [S]B - [k]A compared byte for byte with R. */
  crypto_sign_verify_detached: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
  /** Canonical, not of small order, on the curve, and X([L]P) = 0 (so [L]P is O or the point of order 2). */
  crypto_core_ed25519_is_valid_point: (point: Uint8Array) => boolean
  /** out = [n]P; throws when P fails is_valid_point's checks or when [n]P is the identity. */
  crypto_scalarmult_ed25519_noclamp: (out: Uint8Array, n: Uint8Array, point: Uint8Array) => void
  /** pk (32 bytes) and sk (64 bytes: seed || pk) from a 32-byte seed. */
  crypto_sign_seed_keypair: (pk: Uint8Array, sk: Uint8Array, seed: Uint8Array) => void
  /** RFC 8032 ed25519 signature (64 bytes) of message under sk (seed || pk). */
  crypto_sign_detached: (signature: Uint8Array, message: Uint8Array, sk: Uint8Array) => void
}

/**
 * libsodium through sodium-native's prebuilt addon, or null where it does not load (a platform
 * without a prebuild) or BFT_LEDGER_VERIFIER=node-crypto asks for OpenSSL: verification then
 * falls back to node:crypto and @noble/ed25519, which give the same verdicts (docs/crypto.md).
 *
 * Why: on this machine libsodium verifies ~19,000 ed25519 signatures a second on one core
 * against ~9,200 for node:crypto (OpenSSL 3), and checks a new public key's subgroup
 * membership in 0.14–0.23 ms against 0.76–1.6 ms in JS. Every validator verifies every transaction.
 */
function load (): SodiumEd25519 | null {
  if (process.env.BFT_LEDGER_VERIFIER === 'node-crypto') return null
  try {
    return createRequire(import.meta.url)('sodium-native') as SodiumEd25519
  } catch {
    return null
  }
}

export const sodium: SodiumEd25519 | null = load()
