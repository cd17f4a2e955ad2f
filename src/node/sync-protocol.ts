import { Type, type Static } from '@sinclair/typebox'
import { Codec } from '../codec/index.js'
import { BlockSchema } from '../ledger/block.js'
import { CertificateSchema } from '../ledger/certificate.js'

/**
 * Block sync wire format (request/response on /bft-ledger/sync/1.0.0), canonical CBOR:
 *   request  { type: 'head' }                      → { type: 'head', height, hash }
 *   request  { type: 'blocks', from, max }         → { type: 'blocks', items: [{ block, certificate }] }
 * Only certified blocks are served: a syncing node checks every certificate against the
 * genesis validator set and re-executes every block, so it never has to trust the server.
 */
export const MAX_SYNC_BLOCKS = 32
export const MAX_SYNC_RESPONSE_BYTES = 16 * 1024 * 1024

export const SyncRequestSchema = Type.Union([
  Type.Object({ type: Type.Literal('head') }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('blocks'),
    from: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    max: Type.Integer({ minimum: 1, maximum: MAX_SYNC_BLOCKS })
  }, { additionalProperties: false })
])

export const SyncResponseSchema = Type.Union([
  Type.Object({
    type: Type.Literal('head'),
    height: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    certifiedHeight: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
  }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('blocks'),
    items: Type.Array(Type.Object({ block: BlockSchema, certificate: CertificateSchema }, { additionalProperties: false }), { maxItems: MAX_SYNC_BLOCKS })
  }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('error'), code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 1024 }) }, { additionalProperties: false })
])

export type SyncRequest = Static<typeof SyncRequestSchema>
export type SyncResponse = Static<typeof SyncResponseSchema>
export const syncRequestCodec = new Codec('SyncRequest', SyncRequestSchema, 1024)
export const syncResponseCodec = new Codec('SyncResponse', SyncResponseSchema, MAX_SYNC_RESPONSE_BYTES)
