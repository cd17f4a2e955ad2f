import { checkpointSignBytes, type ConsensusCrypto, type ReplicaConfig } from '../consensus/types.js'
import { batchDigest, envelopeCodec, openMessage, signMessage, type MessageBody } from '../consensus/messages.js'
import type { ClientRequest } from '../consensus/types.js'

/**
 * What a Byzantine replica needs to craft messages with the real codec: open any message,
 * re-sign a (modified) body with its own key, tamper with signatures, and rewrite the parts
 * that matter (views, digests, batches).
 */
export interface MessageTools {
  open: (bytes: Uint8Array) => { sender: number, body: MessageBody } | null
  /** Signs `body` with `crypto` (the Byzantine replica's own key); `body.from` may name anyone. */
  seal: (body: MessageBody, crypto: ConsensusCrypto) => Uint8Array
  /** The same message with its outer signature replaced. */
  withSignature: (bytes: Uint8Array, signature: Uint8Array) => Uint8Array | null
  /** The same message moved `by` views ahead. */
  bumpView: (body: MessageBody, by: number) => MessageBody
  /** A pre-prepare for the same (view, seq) with a different batch and a matching digest. */
  rebatch: (body: MessageBody, requests: ClientRequest[], crypto: ConsensusCrypto) => MessageBody | null
}

export function createMessageTools (config: Omit<ReplicaConfig, 'self'>, verifier: ConsensusCrypto): MessageTools {
  const cfg: ReplicaConfig = { ...config, self: 0 }
  // A broadcast hands the same bytes object to every recipient: open it once.
  const cache = new WeakMap<Uint8Array, { sender: number, body: MessageBody } | null>()
  return {
    open (bytes) {
      const hit = cache.get(bytes)
      if (hit !== undefined) return hit
      const o = openMessage(bytes, cfg, verifier)
      const r = 'error' in o ? null : { sender: o.from, body: o.body }
      cache.set(bytes, r)
      return r
    },
    seal (body, crypto) {
      if (body.kind === 'checkpoint') {
        const p = body.payload
        const signature = crypto.sign(checkpointSignBytes(config.chainId, p.seq, p.blockHash, p.stateRoot))
        return signMessage({ ...body, payload: { ...p, signature } }, crypto)
      }
      return signMessage(body, crypto)
    },
    withSignature (bytes, signature) {
      try {
        const env = envelopeCodec.decode(bytes)
        return envelopeCodec.encode({ body: env.body, sig: signature })
      } catch {
        return null
      }
    },
    bumpView (body, by) {
      switch (body.kind) {
        case 'pre-prepare': return { ...body, payload: { ...body.payload, view: body.payload.view + by } }
        case 'prepare': return { ...body, payload: { ...body.payload, view: body.payload.view + by } }
        case 'commit': return { ...body, payload: { ...body.payload, view: body.payload.view + by } }
        case 'view-change': return { ...body, payload: { ...body.payload, newView: body.payload.newView + by } }
        case 'new-view': return { ...body, payload: { ...body.payload, view: body.payload.view + by } }
        default: return body
      }
    },
    rebatch (body, requests, crypto) {
      if (body.kind !== 'pre-prepare') return null
      const p = body.payload
      const digest = batchDigest(crypto, p.timestamp, p.originView, p.proposer, requests.map(r => r.id))
      return { ...body, payload: { ...p, digest, requests: requests.map(r => ({ id: r.id, bytes: r.bytes })) } }
    }
  }
}
