import { createRequire } from 'node:module'

/** The batch verifier addon (src/crypto/native/binding.c), typed here. */
export interface NativeBatchVerifier {
  /**
   * One byte per signature: 1 when the cofactored equation [8]([S]B - R - [k]A) = O holds, 0
   * when it does not or the entry is malformed. Decides rule 5 only: the caller prechecks
   * rules 1-4 (docs/crypto.md). Throws TypeError unless given three arrays of one length, and
   * RangeError beyond 2^20 signatures.
   */
  verify: (signatures: Uint8Array[], messages: Uint8Array[], publicKeys: Uint8Array[]) => Uint8Array
  /** Since load: combined checks run, and those that failed (their members then checked one by one). For tests. */
  stats: () => { batches: number, fallbacks: number }
}

/** Where `npm install` builds the addon (scripts/build-native.mjs), from dist/src/crypto/. */
const ADDON = '../../../build/Release/bft_ed25519.node'

/**
 * The addon, or null where it was not built (no compiler at install) or BFT_LEDGER_NATIVE=0
 * turns it off: the node then verifies one signature at a time, under the same rule.
 */
function load (): NativeBatchVerifier | null {
  if (process.env.BFT_LEDGER_NATIVE === '0') return null
  try {
    const mod = createRequire(import.meta.url)(ADDON) as Partial<NativeBatchVerifier>
    return typeof mod.verify === 'function' && typeof mod.stats === 'function' ? mod as NativeBatchVerifier : null
  } catch {
    return null
  }
}

export const nativeBatch: NativeBatchVerifier | null = load()
