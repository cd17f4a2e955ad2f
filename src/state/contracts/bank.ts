import { decode, encode } from '../../codec/index.js'
import { isAddress } from '../../crypto/index.js'
import { ConfigError, CorruptionError } from '../../errors.js'
import type { StateWrite } from '../api.js'
import { balanceKey } from '../keys.js'
import type { StateReader, Overlay } from '../overlay.js'
import { U64_MAX, type TransferArgs } from './schemas.js'
import { TxFailure, type CallEnv } from './types.js'

/** Stored balances are canonical CBOR unsigned integers; an absent key is a zero balance. */
export function decodeBalance (bytes: Uint8Array | undefined): bigint {
  if (bytes === undefined) return 0n
  const v = decode(bytes)
  if ((typeof v !== 'number' && typeof v !== 'bigint') || BigInt(v) < 0n || BigInt(v) > U64_MAX) {
    throw new CorruptionError('stored balance is not a u64')
  }
  return BigInt(v)
}

export function encodeBalance (amount: bigint): Uint8Array | null {
  // Zero balances are deleted so the state (and the tree) holds only live accounts.
  return amount === 0n ? null : encode(amount <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(amount) : amount)
}

export async function readBalance (reader: StateReader, address: string): Promise<bigint> {
  return decodeBalance(await reader.get(balanceKey(address)))
}

function writeBalance (state: Overlay, address: string, amount: bigint): void {
  state.put(balanceKey(address), encodeBalance(amount))
}

export async function transfer (env: CallEnv, args: TransferArgs): Promise<unknown> {
  const amount = BigInt(args.amount)
  const from = env.sender
  const to = args.to
  const fromBalance = await readBalance(env.state, from)
  if (fromBalance < amount) {
    throw new TxFailure('ERR_INSUFFICIENT_FUNDS', `account ${from} holds ${fromBalance}, cannot send ${amount}`)
  }
  if (to !== from) {
    const toBalance = await readBalance(env.state, to)
    if (toBalance + amount > U64_MAX) {
      throw new TxFailure('ERR_BALANCE_OVERFLOW', `account ${to} holds ${toBalance}; receiving ${amount} would exceed the u64 maximum`)
    }
    writeBalance(env.state, from, fromBalance - amount)
    writeBalance(env.state, to, toBalance + amount)
  }
  // Amounts travel as decimal strings in results and events: JSON-safe and exact.
  env.emit('bank.transfer', { from, to, amount: amount.toString() })
  return { from, to, amount: amount.toString() }
}

/** State writes of a genesis allocation, sorted by key; amounts of 0 are skipped. */
export function genesisWrites (balances: Array<{ address: string, amount: bigint }>): StateWrite[] {
  const seen = new Set<string>()
  const writes: StateWrite[] = []
  for (const [i, b] of balances.entries()) {
    if (!isAddress(b.address)) throw new ConfigError(`genesis balance #${i}: "${String(b.address)}" is not a 40-hex-char address`)
    if (typeof b.amount !== 'bigint' || b.amount < 0n || b.amount > U64_MAX) {
      throw new ConfigError(`genesis balance #${i} (${b.address}): amount must be a bigint in [0, 2^64-1]`)
    }
    if (seen.has(b.address)) throw new ConfigError(`genesis balance #${i}: address ${b.address} is listed twice`)
    seen.add(b.address)
    const value = encodeBalance(b.amount)
    if (value !== null) writes.push({ key: balanceKey(b.address), value })
  }
  return writes.sort((a, b) => Buffer.compare(a.key, b.key))
}
