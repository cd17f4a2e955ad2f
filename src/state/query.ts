import { isAddress } from '../crypto/index.js'
import { ValidationError } from '../errors.js'
import { toHex } from '../codec/index.js'
import { decodeAccount, readAccountRecord, type Account } from './account.js'
import { decodeKvRecord } from './contracts/kv.js'
import { decodeLockRecord } from './contracts/lock.js'
import type { StateReader } from './overlay.js'

export type { Account }

/** Balance and next nonce of an address (zero/0 for an unknown account). */
export async function readAccount (reader: StateReader, address: string): Promise<Account> {
  if (!isAddress(address)) throw new ValidationError('ERR_BAD_ADDRESS', `"${address}" is not an address (40 lowercase hex chars)`)
  return await readAccountRecord(reader, address)
}

/**
 * A stored value in JSON-friendly form, by namespace (see keys.ts): balances as decimal
 * strings (accounts as { balance, nonce }), kv byte values as { hex }, lock records as stored (expiry not applied: use readLock
 * with a height for the live view). Unknown namespaces or undecodable bytes give null.
 */
export function decodeStateValue (contract: string, value: Uint8Array | undefined | null): unknown {
  if (value === undefined || value === null) return null
  try {
    switch (contract) {
      case 'acct': {
        const a = decodeAccount(value)
        return { balance: a.balance.toString(), nonce: a.nonce }
      }
      case 'kv': {
        const r = decodeKvRecord(value)
        return { value: typeof r.value === 'string' ? r.value : { hex: toHex(r.value) }, height: r.height }
      }
      case 'lock': return decodeLockRecord(value)
      default: return null
    }
  } catch {
    return null
  }
}
