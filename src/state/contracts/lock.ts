import { Type, type Static } from '@sinclair/typebox'
import { Codec } from '../../codec/index.js'
import { CorruptionError, errorMessage } from '../../errors.js'
import { lockKey } from '../keys.js'
import type { StateReader } from '../overlay.js'
import type { LockAcquireArgs, LockReleaseArgs } from './schemas.js'
import { TxFailure, type CallEnv } from './types.js'

/** Waiters beyond this are refused (ERR_LOCK_QUEUE_FULL): it bounds the record's size. */
export const MAX_LOCK_QUEUE = 64

const LockRecordSchema = Type.Object({
  /** Address of the holder, null when free. Invariant: holder null => queue empty. */
  holder: Type.Union([Type.String(), Type.Null()]),
  /** The lease is live while height < expiresAt. */
  expiresAt: Type.Integer({ minimum: 0 }),
  /** Fencing token of the latest grant; +1 on every grant, never reused. 0 = never granted. */
  token: Type.Integer({ minimum: 0 }),
  queue: Type.Array(Type.Object({ who: Type.String(), leaseBlocks: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }))
}, { additionalProperties: false })

export type LockRecord = Static<typeof LockRecordSchema>
const lockCodec = new Codec('LockRecord', LockRecordSchema)

export function decodeLockRecord (bytes: Uint8Array): LockRecord {
  try {
    return lockCodec.decode(bytes)
  } catch (err) {
    throw new CorruptionError(`stored lock record is invalid: ${errorMessage(err)}`)
  }
}

export function encodeLockRecord (r: LockRecord): Uint8Array {
  return lockCodec.encode(r)
}

const FREE: LockRecord = { holder: null, expiresAt: 0, token: 0, queue: [] }

/** The stored record as it is, without applying expiry. */
export async function readLockRecord (reader: StateReader, name: string): Promise<LockRecord> {
  const bytes = await reader.get(lockKey(name))
  return bytes === undefined ? { ...FREE, queue: [] } : decodeLockRecord(bytes)
}

/**
 * Applies lazy expiry at `height`: an expired lease passes the lock to the next waiter (whose
 * lease starts now) or frees it. Pure; returns the grants it made so callers can emit them.
 */
export function settleLock (r: LockRecord, height: number): { record: LockRecord, grants: Array<{ holder: string, token: number, expiresAt: number }> } {
  if (r.holder === null || height < r.expiresAt) return { record: r, grants: [] }
  const next = r.queue[0]
  if (next === undefined) return { record: { holder: null, expiresAt: 0, token: r.token, queue: [] }, grants: [] }
  const record = { holder: next.who, expiresAt: height + next.leaseBlocks, token: r.token + 1, queue: r.queue.slice(1) }
  return { record, grants: [{ holder: record.holder, token: record.token, expiresAt: record.expiresAt }] }
}

/** The lock as seen at `height` (expiry applied), for queries and fencing checks. */
export async function readLock (reader: StateReader, name: string, height: number): Promise<LockRecord> {
  return settleLock(await readLockRecord(reader, name), height).record
}

/** Loads with expiry applied; a lazy transition is written back so it is not redone. */
async function load (env: CallEnv, name: string): Promise<LockRecord> {
  const stored = await readLockRecord(env.state, name)
  const { record, grants } = settleLock(stored, env.ctx.height)
  if (record !== stored) store(env, name, record)
  for (const g of grants) env.emit('lock.granted', { name, ...g })
  return record
}

function store (env: CallEnv, name: string, r: LockRecord): void {
  env.state.put(lockKey(name), encodeLockRecord(r))
}

export async function acquire (env: CallEnv, args: LockAcquireArgs): Promise<unknown> {
  const r = await load(env, args.name)
  const me = env.sender
  if (r.holder === me) {
    return { granted: true, token: r.token, expiresAt: r.expiresAt }
  }
  const pos = r.queue.findIndex(w => w.who === me)
  if (pos >= 0) {
    return { granted: false, position: pos + 1 }
  }
  if (r.holder === null) {
    const granted = { holder: me, expiresAt: env.ctx.height + args.leaseBlocks, token: r.token + 1, queue: [] }
    store(env, args.name, granted)
    env.emit('lock.granted', { name: args.name, holder: me, token: granted.token, expiresAt: granted.expiresAt })
    return { granted: true, token: granted.token, expiresAt: granted.expiresAt }
  }
  if (r.queue.length >= MAX_LOCK_QUEUE) {
    throw new TxFailure('ERR_LOCK_QUEUE_FULL', `lock "${args.name}" already has ${MAX_LOCK_QUEUE} waiters`)
  }
  store(env, args.name, { ...r, queue: [...r.queue, { who: me, leaseBlocks: args.leaseBlocks }] })
  env.emit('lock.queued', { name: args.name, who: me, position: r.queue.length + 1 })
  return { granted: false, position: r.queue.length + 1 }
}

export async function renew (env: CallEnv, args: LockAcquireArgs): Promise<unknown> {
  const r = await load(env, args.name)
  if (r.holder !== env.sender) {
    throw new TxFailure('ERR_NOT_LOCK_HOLDER', `${env.sender} does not hold lock "${args.name}" at height ${env.ctx.height}`)
  }
  const renewed = { ...r, expiresAt: env.ctx.height + args.leaseBlocks }
  store(env, args.name, renewed)
  return { token: renewed.token, expiresAt: renewed.expiresAt }
}

export async function release (env: CallEnv, args: LockReleaseArgs): Promise<unknown> {
  const r = await load(env, args.name)
  if (r.holder !== env.sender) {
    throw new TxFailure('ERR_NOT_LOCK_HOLDER', `${env.sender} does not hold lock "${args.name}" at height ${env.ctx.height}`)
  }
  // Releasing is an expiry at this height: the next waiter (if any) is granted now.
  const { record, grants } = settleLock({ ...r, expiresAt: env.ctx.height }, env.ctx.height)
  store(env, args.name, record)
  env.emit('lock.released', { name: args.name, holder: env.sender, token: r.token })
  for (const g of grants) env.emit('lock.granted', { name: args.name, ...g })
  return { released: true }
}
