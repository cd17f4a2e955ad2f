import type { NodeService } from '../node/service.js'

export interface AccountView {
  address: string
  /** Decimal string: balances may exceed 2^53. */
  balance: string
  /** The nonce the account's next transaction must carry. */
  nonce: number
}

/** A node may answer account queries directly; otherwise they are read from contract state. */
interface AccountSource {
  getAccount?: (address: string) => Promise<{ balance: string | number | bigint, nonce: number }>
}

/**
 * GET /accounts/:address. NodeService has no account call yet, so unless the node provides
 * getAccount, the balance is the bank contract's value under the address and the nonce the
 * value of the 'nonce' namespace; both absent mean a fresh account (0, 0).
 */
export async function accountView (service: NodeService, address: string): Promise<AccountView> {
  const src = service as NodeService & AccountSource
  if (typeof src.getAccount === 'function') {
    const a = await src.getAccount(address)
    return { address, balance: String(a.balance), nonce: a.nonce }
  }
  const [bal, nonce] = await Promise.all([
    service.getState('bank', address, false),
    service.getState('nonce', address, false)
  ])
  return { address, balance: asInteger(bal.decoded, 0n).toString(), nonce: Number(asInteger(nonce.decoded, 0n)) }
}

function asInteger (v: unknown, dflt: bigint): bigint {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v)
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return BigInt(v)
  return dflt
}
