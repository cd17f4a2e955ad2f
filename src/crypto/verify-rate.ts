import { BftError } from '../errors.js'
import { generateKeyPair, sign, verify } from './ed25519.js'

/**
 * Signatures per second this core verifies on the node's path (pre-check + node:crypto), measured
 * for about `durationMs`. Uses one key (keys repeat in practice, so its cached verdict is the
 * realistic case) and 64 distinct 200-byte messages.
 */
export function measureVerifyRate (durationMs: number): number {
  const kp = generateKeyPair()
  const items = Array.from({ length: 64 }, (_, i) => {
    const message = new Uint8Array(200).fill(i)
    return { message, signature: sign(message, kp.secretKey) }
  })
  // Warm up the JIT and the key cache so the timed loop measures the steady state.
  for (let i = 0; i < 200; i++) verify(items[i % 64]!.signature, items[i % 64]!.message, kp.publicKey)
  const limit = Math.max(1, durationMs)
  let count = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < limit) {
    for (let i = 0; i < 64; i++) {
      if (!verify(items[i]!.signature, items[i]!.message, kp.publicKey)) throw new BftError('ERR_INTERNAL', 'verify-rate: a valid signature failed to verify')
    }
    count += 64
    elapsed = performance.now() - start
  }
  return Math.round(count / (elapsed / 1000))
}
