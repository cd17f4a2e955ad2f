import { BftError } from '../errors.js'
import { generateKeyPair, sign, verify, verifyMany, verifyOpenssl } from './ed25519.js'

/**
 * Signatures per second one core verifies, measured for about `durationMs`, on the node's path
 * for one signature (`'node'`: pre-check + libsodium, or node:crypto where libsodium is
 * unavailable), on its path for batches (`'batch'`: verifyMany over all 64 at once, the native
 * batch verifier where it was built) or on the node:crypto path (`'node:crypto'`: pre-check +
 * OpenSSL, the benchmark's verify bound). Uses one key (keys repeat in practice, so its cached
 * verdict is the realistic case) and 64 distinct 200-byte messages.
 *
 * Time is the smaller of wall-clock and this process's CPU time: on a shared, busy machine the
 * wall clock also counts time the thread waited for a core, which is not a property of the core.
 */
export function measureVerifyRate (durationMs: number, path: 'node' | 'batch' | 'node:crypto' = 'node:crypto'): number {
  const kp = generateKeyPair()
  const items = Array.from({ length: 64 }, (_, i) => {
    const message = new Uint8Array(200).fill(i)
    return { message, signature: sign(message, kp.secretKey), publicKey: kp.publicKey }
  })
  const one = path === 'node:crypto' ? verifyOpenssl : verify
  /** Verifies all 64 once; true when every one is valid. */
  const all = path === 'batch'
    ? (): boolean => verifyMany(items).every(ok => ok)
    : (): boolean => items.every(it => one(it.signature, it.message, it.publicKey))
  // Warm up the JIT and the key cache so the timed loop measures the steady state.
  for (let i = 0; i < 4; i++) all()
  const limit = Math.max(1, durationMs)
  let count = 0
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  let elapsed = 0
  while (elapsed < limit) {
    if (!all()) throw new BftError('ERR_INTERNAL', 'verify-rate: a valid signature failed to verify')
    count += items.length
    elapsed = performance.now() - start
  }
  const cpu = process.cpuUsage(cpu0)
  const seconds = Math.min(elapsed / 1000, (cpu.user + cpu.system) / 1e6)
  return Math.round(count / Math.max(seconds, 1e-6))
}
