import { Type, type Static } from '@sinclair/typebox'

/**
 * Request schemas. Type coercion is off (see server.ts), so path and query values are strings
 * checked by pattern and converted in the handler; a JSON body must carry the right types.
 */

export const HEX_PATTERN = '^([0-9a-fA-F]{2})*$'
const HASH_PATTERN = '^[0-9a-f]{64}$'
const HEIGHT_PATTERN = '^(0|[1-9][0-9]{0,14})$'

export const SubmitBody = Type.Object({
  tx: Type.String({ pattern: HEX_PATTERN, minLength: 2 }),
  wait: Type.Optional(Type.Boolean()),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 }))
}, { additionalProperties: false })
export type SubmitBody = Static<typeof SubmitBody>

export const MAX_BATCH_TXS = 1000
export const SubmitBatchBody = Type.Object({
  txs: Type.Array(Type.String({ pattern: HEX_PATTERN, minLength: 2 }), { minItems: 1, maxItems: MAX_BATCH_TXS })
}, { additionalProperties: false })
export type SubmitBatchBody = Static<typeof SubmitBatchBody>

export const TraceHeaders = Type.Object({
  'x-trace-id': Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' }))
})
export type TraceHeaders = Static<typeof TraceHeaders>

export const TxParams = Type.Object({ id: Type.String({ pattern: HASH_PATTERN }) })
export type TxParams = Static<typeof TxParams>

export const BlockParams = Type.Object({ height: Type.String({ pattern: HEIGHT_PATTERN }) })
export type BlockParams = Static<typeof BlockParams>

export const StateParams = Type.Object({
  contract: Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }),
  key: Type.String({ minLength: 1, maxLength: 1024 })
})
export type StateParams = Static<typeof StateParams>

export const StateQuery = Type.Object({
  prove: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')]))
}, { additionalProperties: false })
export type StateQuery = Static<typeof StateQuery>

export const EventsQuery = Type.Object({ from: Type.Optional(Type.String({ pattern: HEIGHT_PATTERN })) })
export type EventsQuery = Static<typeof EventsQuery>
export const EventsHeaders = Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: HEIGHT_PATTERN })) })
export type EventsHeaders = Static<typeof EventsHeaders>

export const AccountParams = Type.Object({ address: Type.String({ pattern: '^[0-9a-f]{40}$' }) })
export type AccountParams = Static<typeof AccountParams>

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const LogLevelBody = Type.Object({
  level: Type.Union(LOG_LEVELS.map(l => Type.Literal(l)))
}, { additionalProperties: false })
export type LogLevelBody = { level: typeof LOG_LEVELS[number] }
