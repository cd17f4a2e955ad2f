import { BftClient } from '../../client/client.js'
import { VerificationError } from '../../client/errors.js'
import { verifyBlockWithCertificate, verifyStateWithProof, type TrustedValidators } from '../../client/lightclient.js'
import { loadTrustedValidators } from '../../client/trust.js'
import { UserError } from '../errors.js'
import { addressArg, hashArg } from '../options.js'
import { printJson } from '../output.js'

export interface QueryOptions {
  node: string[]
  prove: boolean
  genesis?: string
}

/** --prove needs a trust root; the node itself is never trusted for it. */
async function trustFor (opts: QueryOptions): Promise<TrustedValidators | undefined> {
  if (!opts.prove) return undefined
  if (opts.genesis === undefined) throw new UserError('--prove needs --genesis FILE (the validator set to trust)')
  return await loadTrustedValidators(opts.genesis)
}

function heightArg (v: string): number | 'latest' {
  if (v === 'latest') return 'latest'
  if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UserError(`HEIGHT must be a block height (whole number) or "latest", got "${v}"`)
  return Number(v)
}

/** A proven account value is a [balance, nonce] pair of unsigned integers (absent = [0, 0]); anything else is a lie. */
function provenAccount (v: unknown): { balance: bigint, nonce: number } {
  if (v === null) return { balance: 0n, nonce: 0 }
  if (!Array.isArray(v) || v.length !== 2) throw new VerificationError('ERR_STATE_VALUE', 'proven account is not a [balance, nonce] pair')
  const [b, n] = v as [unknown, unknown]
  const balance = typeof b === 'number' && Number.isSafeInteger(b) && b >= 0 ? BigInt(b) : typeof b === 'bigint' && b >= 0n ? b : null
  if (balance === null) throw new VerificationError('ERR_STATE_VALUE', 'proven account balance is not an unsigned integer')
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new VerificationError('ERR_STATE_VALUE', 'proven account nonce is not an unsigned integer')
  return { balance, nonce: n }
}

export async function queryBlock (h: string, opts: QueryOptions): Promise<void> {
  const height = heightArg(h)
  const trust = await trustFor(opts)
  const client = new BftClient({ nodes: opts.node })
  const block = await client.getBlock(height)
  if (block === null) throw new UserError(`block ${h} not found`, 'ERR_NOT_FOUND')
  if (trust === undefined) { printJson(block); return }
  const v = verifyBlockWithCertificate(trust, block)
  printJson({ ...block, verified: true, signers: v.signers })
}

export async function queryTx (idRaw: string, opts: QueryOptions): Promise<void> {
  const id = parseOr(() => hashArg('ID')(idRaw))
  const trust = await trustFor(opts)
  const client = new BftClient({ nodes: opts.node })
  const receipt = await client.getTx(id)
  if (receipt === null) throw new UserError(`transaction ${id} not found`, 'ERR_NOT_FOUND')
  if (trust === undefined) { printJson(receipt); return }
  const block = await client.getBlock(receipt.height)
  if (block === null) throw new VerificationError('ERR_NO_BLOCK', `node has a receipt at height ${receipt.height} but no block there`)
  verifyBlockWithCertificate(trust, block)
  const index = block.txIds.indexOf(id)
  if (index < 0) throw new VerificationError('ERR_TX_NOT_IN_BLOCK', `transaction ${id} is not in the certified block ${receipt.height} the node named`)
  // The receipt itself is not covered by the certificate; inclusion is.
  printJson({ ...receipt, verified: true, verifiedInclusion: { height: block.height, index, blockHash: block.hash } })
}

export async function queryState (contract: string, key: string, opts: QueryOptions): Promise<void> {
  const trust = await trustFor(opts)
  const client = new BftClient({ nodes: opts.node })
  const view = await client.getState(contract, key, trust !== undefined)
  if (trust === undefined) { printJson(view); return }
  const v = verifyStateWithProof(trust, contract, key, view)
  printJson({ contract, key, value: v.value, decoded: v.decoded, height: v.height, stateRoot: v.stateRoot, verified: true })
}

export async function queryAccount (addrRaw: string, opts: QueryOptions): Promise<void> {
  const address = parseOr(() => addressArg(addrRaw))
  const trust = await trustFor(opts)
  const client = new BftClient({ nodes: opts.node })
  if (trust === undefined) { printJson(await client.getAccount(address)); return }
  const v = verifyStateWithProof(trust, 'acct', address, await client.getState('acct', address, true))
  const a = provenAccount(v.decoded)
  printJson({ address, balance: a.balance.toString(), nonce: a.nonce, height: v.height, verified: true })
}

/** Argument parsers throw commander's InvalidArgumentError; for positional args we want a UserError. */
function parseOr<T> (fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw new UserError(err instanceof Error ? err.message : String(err))
  }
}
