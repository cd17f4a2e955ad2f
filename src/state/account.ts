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
  return decodePair(bytes) ?? decodeGeneric(bytes)
}

function decodeGeneric (bytes: Uint8Array): Account {
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

/*
 * Every transfer reads two accounts (and admission reads the sender's nonce), and the generic
 * canonical decoder (a tokenizer, then type checks) took ~0.9 us per account against ~0.15 us
 * here (thirteenth session, docs/performance.md). An account always has one shape, so it is
 * read byte by byte: a 2-array (0x82) of two unsigned integers in their shortest form, the only
 * canonical encoding of [balance, nonce]. Anything else goes to the generic decoder, which
 * refuses it or reads it; test/state/account.test.ts checks that both paths agree. Encoding
 * stays generic: it was already ~0.25 us.
 */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

function readBE (b: Uint8Array, at: number, size: number): number {
  let v = 0
  for (let i = 0; i < size; i++) v = v * 256 + b[at + i]!
  return v
}

/** Size in bytes of the shortest-form unsigned integer at `at` (header included), or 0 when it is not one. */
function uintAt (b: Uint8Array, at: number): number {
  const h = b[at]
  if (h === undefined || h > 0x1b) return 0
  if (h < 24) return 1
  const size = h === 0x18 ? 1 : h === 0x19 ? 2 : h === 0x1a ? 4 : 8
  if (at + 1 + size > b.length) return 0
  if (size === 8) return readBE(b, at + 1, 4) === 0 ? 0 : 9
  return readBE(b, at + 1, size) < (size === 1 ? 24 : size === 2 ? 0x100 : 0x10000) ? 0 : 1 + size
}

function uintValue (b: Uint8Array, at: number, size: number): bigint {
  if (size === 1) return BigInt(b[at]!)
  if (size === 9) return (BigInt(readBE(b, at + 1, 4)) << 32n) | BigInt(readBE(b, at + 5, 4))
  return BigInt(readBE(b, at + 1, size - 1))
}

function decodePair (b: Uint8Array): Account | null {
  if (b.length < 3 || b[0] !== 0x82) return null
  const bs = uintAt(b, 1)
  if (bs === 0) return null
  const ns = uintAt(b, 1 + bs)
  if (ns === 0 || 1 + bs + ns !== b.length) return null
  const nonce = uintValue(b, 1 + bs, ns)
  if (nonce > MAX_SAFE) return null
  return { balance: uintValue(b, 1, bs), nonce: Number(nonce) }
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

/** The byte-level account decoder alone (null where it defers to the generic one), for tests. */
export const accountFastPath = { decode: decodePair }
