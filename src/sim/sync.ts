import type { SimApp } from './app.js'
import type { Certificate } from './checkers/certificates.js'

/**
 * Block-sync stand-in: the best block a lagging replica can fetch. That is the highest
 * verified certificate above its height whose block some correct replica's app holds with
 * the same hash and state root (that app holds every block below it too, by the hash chain).
 */
export function findSyncSource (
  have: number,
  certs: ReadonlyMap<number, Certificate>,
  sources: readonly SimApp[]
): { cert: Certificate, source: SimApp } | null {
  let best: { cert: Certificate, source: SimApp } | null = null
  for (const [seq, cert] of certs) {
    if (seq <= have || (best !== null && seq <= best.cert.seq)) continue
    for (const app of sources) {
      if (app.lastExecuted.seq < seq) continue
      const b = app.block(seq)
      if (b !== undefined && Buffer.compare(b.blockHash, cert.blockHash) === 0 && Buffer.compare(b.stateRoot, cert.stateRoot) === 0) {
        best = { cert, source: app }
        break
      }
    }
  }
  return best
}
