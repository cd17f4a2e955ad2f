import { BftClient } from '../../client/client.js'
import { BftError } from '../../errors.js'
import { readKeyFile } from '../../node/keyfile.js'
import { checkCall, createTx } from '../../state/tx.js'
import { UserError } from '../errors.js'
import { printJson } from '../output.js'

export interface TxOptions {
  key: string
  node: string[]
  wait: boolean
  nonce?: number
  timeout: number
}

/**
 * Builds, signs and submits one call. Arguments are checked against the contract's schema
 * here first, so a typo fails locally with the field's name instead of at the node.
 */
export async function sendTx (opts: TxOptions, contract: string, method: string, args: unknown): Promise<void> {
  checkCall(contract, method, args, 'args')
  const key = await readKeyFile(opts.key)
  const client = new BftClient({ nodes: opts.node, timeoutMs: 10_000 })
  const status = await client.status()
  const nonce = opts.nonce ?? (await client.getAccount(key.address)).nonce
  const tx = createTx({ chainId: status.chainId, sender: key.publicKey, nonce, contract, method, args }, key.secretKey)
  const r = await client.submit(tx, { wait: opts.wait, waitTimeoutMs: opts.timeout })
  const out: Record<string, unknown> = { txId: r.txId, status: r.status, height: r.height ?? null, nonce }
  if (r.receipt !== undefined) {
    out.result = r.receipt.result
    if (r.receipt.events.length > 0) out.events = r.receipt.events
    if (r.status === 'failed') out.error = `${r.receipt.status}: ${r.receipt.error}`
  }
  printJson(out)
  if (opts.wait && r.status === 'accepted') {
    throw new BftError('ERR_TIMEOUT', `transaction ${r.txId} was accepted but not committed within ${opts.timeout} ms; check later with \`query tx ${r.txId}\``)
  }
  if (r.status === 'failed') throw new UserError(`transaction ${r.txId} was committed but failed: ${String(out.error)}`, 'ERR_TX_FAILED')
}

