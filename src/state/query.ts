import { isAddress } from '../crypto/index.js'
import { ValidationError } from '../errors.js'
import { readBalance } from './contracts/bank.js'
import { readNonce } from './executor.js'
import type { StateReader } from './overlay.js'

export interface Account {
  balance: bigint
  /** The nonce the account's next transaction must carry. */
  nonce: number
}

/** Balance and next nonce of an address (zero/0 for an unknown account). */
export async function readAccount (reader: StateReader, address: string): Promise<Account> {
  if (!isAddress(address)) throw new ValidationError('ERR_BAD_ADDRESS', `"${address}" is not an address (40 lowercase hex chars)`)
  const [balance, nonce] = await Promise.all([readBalance(reader, address), readNonce(reader, address)])
  return { balance, nonce }
}
