import { decode, encode } from '../codec/index.js'
import { CorruptionError } from '../errors.js'
import { accountKey } from './keys.js'
import { U64_MAX } from './contracts/schemas.js'
import type { Overlay, StateReader } from './overlay.js'

export interface Account {
  balance: bigint
  /** The nonce the account's next transaction must carry. */
  nonce: number
}

const ZERO: Readonly<Account> = Object.freeze({ balance: 0n, nonce: 0 })

/**
 * An account is one state key, `acct/<address>` = canonical CBOR `[balance, nonce]`. Balance
 * and nonce used to be two keys; a transfer then touched three tree paths (sender balance,
 * sender nonce, recipient balance) and now touches two, and one proof answers "what is this
 * account" at one height (two proofs could come from two heights).
 */
export function decodeAccount (bytes: Uint8Array | undefined | null): Account {
  if (bytes === undefined || bytes === null) return { ...ZERO }
  const v = decode(bytes)
  if (!Array.isArray(v) || v.length !== 2) throw new CorruptionError('stored account is not a [balance, nonce] pair')
  const [b, n] = v as [unknown, unknown]
  if ((typeof b !== 'number' && typeof b !== 'bigint') || BigInt(b) < 0n || BigInt(b) > U64_MAX) throw new CorruptionError('stored account balance is not a u64')
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new CorruptionError('stored account nonce is not a safe unsigned integer')
  return { balance: BigInt(b), nonce: n }
}

/** Canonical bytes of an account; null (delete) for the empty account, so state holds live accounts only. */
export function encodeAccount (a: Account): Uint8Array | null {
  if (a.balance === 0n && a.nonce === 0) return null
  return encode([a.balance <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a.balance) : a.balance, a.nonce])
}

export async function readAccountRecord (reader: StateReader, address: string): Promise<Account> {
  return decodeAccount(await reader.get(accountKey(address)))
}

export function writeAccount (state: Overlay, address: string, a: Account): void {
  state.put(accountKey(address), encodeAccount(a))
}

export async function readBalance (reader: StateReader, address: string): Promise<bigint> {
  return (await readAccountRecord(reader, address)).balance
}

export async function readNonce (reader: StateReader, address: string): Promise<number> {
  return (await readAccountRecord(reader, address)).nonce
}
