import { decode, encode } from '../codec/index.js'
import { sha256 } from '../crypto/index.js'
import type { ClientRequest } from '../consensus/types.js'

/**
 * Simulated client requests. Each carries a MAC under a client secret that only the simulator
 * holds, so a replica's `isValidRequest` can reject requests a Byzantine primary makes up, the
 * way signature checks reject forged transactions in the real mempool.
 */
export class RequestFactory {
  private readonly secret: Uint8Array
  private counter = 0

  constructor (seed: number) {
    this.secret = sha256(new TextEncoder().encode(`bft-ledger/sim/client/${seed}`))
  }

  next (payloadBytes = 16): ClientRequest {
    const n = this.counter++
    const payload = sha256(this.secret, encode(['payload', n])).subarray(0, Math.min(32, payloadBytes))
    const mac = this.mac(n, payload)
    const bytes = encode(['sim-req', n, payload, mac])
    return { id: sha256(bytes), bytes }
  }

  /** What a Byzantine replica can make: well-formed, but with a MAC it had to guess. */
  static forge (n: number, junk: Uint8Array): ClientRequest {
    const bytes = encode(['sim-req', n, junk.subarray(0, 16), junk.subarray(16, 32)])
    return { id: sha256(bytes), bytes }
  }

  isValid (request: ClientRequest): boolean {
    try {
      if (!(request.id instanceof Uint8Array) || !(request.bytes instanceof Uint8Array)) return false
      if (Buffer.compare(sha256(request.bytes), request.id) !== 0) return false
      const v = decode(request.bytes, 256)
      if (!Array.isArray(v) || v.length !== 4 || v[0] !== 'sim-req') return false
      const [, n, payload, mac] = v as [string, unknown, unknown, unknown]
      if (typeof n !== 'number' || !(payload instanceof Uint8Array) || !(mac instanceof Uint8Array)) return false
      return Buffer.compare(this.mac(n, payload), mac) === 0
    } catch {
      return false
    }
  }

  private mac (n: number, payload: Uint8Array): Uint8Array {
    return sha256(this.secret, encode(['mac', n, payload])).subarray(0, 16)
  }
}
