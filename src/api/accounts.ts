import type { NodeService } from '../node/service.js'

export interface AccountView {
  address: string
  /** Decimal string: balances may exceed 2^53. */
  balance: string
  /** The nonce the account's next transaction must carry. */
  nonce: number
}

/** GET /accounts/:address: balance as a decimal string (it may exceed 2^53) and next nonce. */
export async function accountView (service: NodeService, address: string): Promise<AccountView> {
  const a = await service.getAccount(address)
  return { address, balance: a.balance, nonce: a.nonce }
}
