import { Type, type Static } from '@sinclair/typebox'
import { Codec } from '../../codec/index.js'
import { CorruptionError, errorMessage } from '../../errors.js'
import { kvKey } from '../keys.js'
import type { StateReader } from '../overlay.js'
import { readLock } from './lock.js'
import type { KvDeleteArgs, KvSetArgs } from './schemas.js'
import { TxFailure, type CallEnv } from './types.js'

const KvRecordSchema = Type.Object({
  value: Type.Union([Type.Uint8Array(), Type.String()]),
  /** Height of the block that last wrote the value. */
  height: Type.Integer({ minimum: 0 })
}, { additionalProperties: false })

export type KvRecord = Static<typeof KvRecordSchema>
const kvCodec = new Codec('KvRecord', KvRecordSchema)

export function decodeKvRecord (bytes: Uint8Array): KvRecord {
  try {
    return kvCodec.decode(bytes)
  } catch (err) {
    throw new CorruptionError(`stored kv record is invalid: ${errorMessage(err)}`)
  }
}

/** Reads `owner`'s entry `key`, or null. */
export async function readKv (reader: StateReader, owner: string, key: string): Promise<KvRecord | null> {
  const bytes = await reader.get(kvKey(owner, key))
  return bytes === undefined ? null : decodeKvRecord(bytes)
}

/** A fenced write goes through only for the current holder presenting the current token. */
async function checkFence (env: CallEnv, fence: { lock: string, token: number } | undefined): Promise<void> {
  if (fence === undefined) return
  const lock = await readLock(env.state, fence.lock, env.ctx.height)
  if (lock.holder !== env.sender || lock.token !== fence.token) {
    throw new TxFailure('ERR_STALE_FENCE', `fencing token ${fence.token} for lock "${fence.lock}" is stale: current token ${lock.token}, ` +
      (lock.holder === env.sender ? 'held by the sender' : `sender ${env.sender} is not the holder`))
  }
}

export async function set (env: CallEnv, args: KvSetArgs): Promise<unknown> {
  await checkFence(env, args.fence)
  // Keys live under the sender's address: every account has its own namespace.
  env.state.put(kvKey(env.sender, args.key), kvCodec.encode({ value: args.value, height: env.ctx.height }))
  env.emit('kv.set', { owner: env.sender, key: args.key })
  return null
}

export async function del (env: CallEnv, args: KvDeleteArgs): Promise<unknown> {
  await checkFence(env, args.fence)
  const k = kvKey(env.sender, args.key)
  const existed = (await env.state.get(k)) !== undefined
  if (existed) {
    env.state.put(k, null)
    env.emit('kv.deleted', { owner: env.sender, key: args.key })
  }
  return { deleted: existed }
}
