import { BftClient } from '../../client/client.js'
import { VerificationError } from '../../client/errors.js'
import { verifyBlockWithCertificate, verifyStateWithProof, type TrustedValidators } from '../../client/lightclient.js'
import { loadTrustedValidators } from '../../client/trust.js'
import { UserError } from '../errors.js'
import { addressArg, hashArg } from '../options.js'
import { printJson } from '../output.js'
import { fromHex } from '../../codec/index.js'
import { errorMessage } from '../../errors.js'
import { decodeAccount, type Account } from '../../state/account.js'

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

/** A proven account value must be a stored account record (state/account.ts); anything else is a lie. */
function provenAccount (valueHex: string | null): Account {
  try {
    return decodeAccount(valueHex === null ? null : fromHex(valueHex))
  } catch (err) {
    throw new VerificationError('ERR_STATE_VALUE', `proven account: ${errorMessage(err)}`)
  }
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
  const a = provenAccount(v.value)
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
