import { isAddress } from '../../crypto/index.js'
import { ConfigError } from '../../errors.js'
import type { StateWrite } from '../api.js'
import { encodeAccount, readAccountRecord, writeAccount } from '../account.js'
import { accountKey } from '../keys.js'
import { U64_MAX, type TransferArgs } from './schemas.js'
import { TxFailure, type CallEnv } from './types.js'

export async function transfer (env: CallEnv, args: TransferArgs): Promise<unknown> {
  const amount = BigInt(args.amount)
  const from = env.sender
  const to = args.to
  const sender = await readAccountRecord(env.state, from)
  if (sender.balance < amount) {
    throw new TxFailure('ERR_INSUFFICIENT_FUNDS', `account ${from} holds ${sender.balance}, cannot send ${amount}`)
  }
  if (to !== from) {
    const recipient = await readAccountRecord(env.state, to)
    if (recipient.balance + amount > U64_MAX) {
      throw new TxFailure('ERR_BALANCE_OVERFLOW', `account ${to} holds ${recipient.balance}; receiving ${amount} would exceed the u64 maximum`)
    }
    writeAccount(env.state, from, { ...sender, balance: sender.balance - amount })
    writeAccount(env.state, to, { ...recipient, balance: recipient.balance + amount })
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
    const value = encodeAccount({ balance: b.amount, nonce: 0 })
    if (value !== null) writes.push({ key: accountKey(b.address), value })
  }
  return writes.sort((a, b) => Buffer.compare(a.key, b.key))
}
