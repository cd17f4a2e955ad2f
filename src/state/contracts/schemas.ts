import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'

/**
 * Argument schemas of every built-in contract method. They live apart from the contract code
 * so the mempool can reject malformed calls statelessly (checkTxStateless) without loading
 * any execution code, and the executor checks the very same schemas.
 */

export const MAX_KV_KEY_CHARS = 128
export const MAX_KV_VALUE_BYTES = 4096
export const MAX_LOCK_NAME_CHARS = 128
export const MAX_LEASE_BLOCKS = 1_000_000
export const MAX_ATOMIC_CALLS = 16
export const U64_MAX = (1n << 64n) - 1n

const Address = Type.String({ pattern: '^[0-9a-f]{40}$' })
// Small amounts decode from CBOR as numbers and large ones as bigints; both are accepted.
const Amount = Type.Union([
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  Type.BigInt({ minimum: 1n, maximum: U64_MAX })
])
const KvKey = Type.String({ minLength: 1, maxLength: MAX_KV_KEY_CHARS })
const Fence = Type.Object({
  lock: Type.String({ minLength: 1, maxLength: MAX_LOCK_NAME_CHARS }),
  token: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
}, { additionalProperties: false })
const LockName = Type.String({ minLength: 1, maxLength: MAX_LOCK_NAME_CHARS })
const LeaseBlocks = Type.Integer({ minimum: 1, maximum: MAX_LEASE_BLOCKS })

export const TransferArgs = Type.Object({ to: Address, amount: Amount }, { additionalProperties: false })
export const KvSetArgs = Type.Object({
  key: KvKey,
  value: Type.Union([Type.Uint8Array({ maxByteLength: MAX_KV_VALUE_BYTES }), Type.String({ maxLength: MAX_KV_VALUE_BYTES })]),
  fence: Type.Optional(Fence)
}, { additionalProperties: false })
export const KvDeleteArgs = Type.Object({ key: KvKey, fence: Type.Optional(Fence) }, { additionalProperties: false })
export const LockAcquireArgs = Type.Object({ name: LockName, leaseBlocks: LeaseBlocks }, { additionalProperties: false })
export const LockRenewArgs = LockAcquireArgs
export const LockReleaseArgs = Type.Object({ name: LockName }, { additionalProperties: false })
export const AtomicCall = Type.Object({
  contract: Type.String({ minLength: 1, maxLength: 32 }),
  method: Type.String({ minLength: 1, maxLength: 32 }),
  args: Type.Unknown()
}, { additionalProperties: false })
export const AtomicExecArgs = Type.Object({
  calls: Type.Array(AtomicCall, { minItems: 1, maxItems: MAX_ATOMIC_CALLS })
}, { additionalProperties: false })

export type TransferArgs = Static<typeof TransferArgs>
export type KvSetArgs = Static<typeof KvSetArgs>
export type KvDeleteArgs = Static<typeof KvDeleteArgs>
export type LockAcquireArgs = Static<typeof LockAcquireArgs>
export type LockReleaseArgs = Static<typeof LockReleaseArgs>
export type AtomicCall = Static<typeof AtomicCall>
export type AtomicExecArgs = Static<typeof AtomicExecArgs>

export interface MethodSchema {
  readonly schema: TSchema
  readonly check: TypeCheck<TSchema>
}

function method (schema: TSchema): MethodSchema {
  return { schema, check: TypeCompiler.Compile(schema) }
}

/** contract -> method -> argument schema. The atomic method is `atomic.exec`. */
export const METHODS: Readonly<Record<string, Readonly<Record<string, MethodSchema>>>> = {
  bank: { transfer: method(TransferArgs) },
  kv: { set: method(KvSetArgs), delete: method(KvDeleteArgs) },
  lock: { acquire: method(LockAcquireArgs), renew: method(LockRenewArgs), release: method(LockReleaseArgs) },
  atomic: { exec: method(AtomicExecArgs) }
}
