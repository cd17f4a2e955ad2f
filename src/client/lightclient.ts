import { decode, fromHex, toHex, bytesEqual } from '../codec/index.js'
import { verifyNoble } from '../crypto/index.js'
import { BftError, errorMessage } from '../errors.js'
import type { Block } from '../ledger/block.js'
import type { Certificate } from '../ledger/certificate.js'
import { verifyCertifiedBlock, verifyCertifiedState, type TrustRoot } from '../ledger/lightclient.js'
import type { BlockView, StateView } from '../node/service.js'
import type { StateProof } from '../state/api.js'
import { stateKey } from '../state/keys.js'
import { verifyStateProof } from '../state/proof.js'
import { txIdHex } from '../state/tx.js'
import { VerificationError } from './errors.js'

/** What a light client trusts: the chain id and validator keys from genesis, nothing a node says. */
export interface TrustedValidators {
  chainId: string
  validators: ReadonlyArray<{ publicKey: Uint8Array }>
}

export interface VerifiedBlock {
  height: number
  hash: string
  stateRoot: string
  /** Validators whose certificate signature verified. */
  signers: number[]
  quorum: number
}

export interface VerifiedState {
  contract: string
  key: string
  /** Proven value bytes (hex), null when the key is proven absent. */
  value: string | null
  /** The value decoded here from the proven bytes (never the node's own decoding). */
  decoded: unknown
  height: number
  stateRoot: string
  block: VerifiedBlock
}

/**
 * Checks a block from an untrusted node: 2f+1 distinct genesis validators signed
 * checkpointSignBytes(chainId, height, hash, stateRoot), the header hashes to the certified
 * hash, the txs match the header's txRoot and the listed txIds are those of the txs.
 * Throws VerificationError whose code names the failed check.
 */
export function verifyBlockWithCertificate (trust: TrustedValidators, view: BlockView): VerifiedBlock {
  if (view.certificate === null || view.certificate === undefined) {
    throw new VerificationError('ERR_NO_CERTIFICATE', `block ${view.height} came without a commit certificate (not yet certified?)`)
  }
  const sigs = view.certificate.signatures
  const { block, cert } = guard('ERR_VERIFY_MALFORMED', `block ${view.height} is malformed`, () => {
    const h = view.header
    const block: Block = {
      header: {
        chainId: h.chainId,
        height: h.height,
        prevHash: fromHex(h.prevHash, 32, 'header.prevHash'),
        txRoot: fromHex(h.txRoot, 32, 'header.txRoot'),
        view: h.view,
        proposer: h.proposer,
        timestamp: h.timestamp
      },
      txs: view.txs.map((t, i) => fromHex(t, undefined, `txs[${i}]`))
    }
    const cert: Certificate = {
      height: view.height,
      blockHash: fromHex(view.hash, 32, 'hash'),
      stateRoot: fromHex(view.stateRoot, 32, 'stateRoot'),
      signatures: sigs.map((s, i) => ({ validator: s.validator, signature: fromHex(s.signature, 64, `certificate.signatures[${i}]`) }))
    }
    return { block, cert }
  })
  if (view.header.height !== view.height) {
    throw new VerificationError('ERR_CERT_HEIGHT', `block claims height ${view.height} but its header says ${view.header.height}`)
  }
  const root: TrustRoot = { chainId: trust.chainId, validators: trust.validators, verify: verifyNoble }
  const check = guard(undefined, `block ${view.height} failed verification`, () => verifyCertifiedBlock(root, block, cert))
  if (view.txIds.length !== view.txs.length) {
    throw new VerificationError('ERR_TX_IDS', `block ${view.height} lists ${view.txIds.length} tx ids for ${view.txs.length} txs`)
  }
  for (let i = 0; i < block.txs.length; i++) {
    const id = guard('ERR_TX_IDS', `block ${view.height} tx ${i} cannot be decoded`, () => txIdHex(block.txs[i]!))
    if (id !== view.txIds[i]) throw new VerificationError('ERR_TX_IDS', `block ${view.height} tx ${i}: listed id ${view.txIds[i]} is not its id ${id}`)
  }
  return { height: view.height, hash: toHex(cert.blockHash), stateRoot: toHex(cert.stateRoot), signers: check.signers, quorum: check.quorum }
}

/**
 * Checks a state read (GET /state/:contract/:key?prove=true) from an untrusted node: the
 * attached block is certified, its stateRoot is the one the answer claims, and the Merkle
 * proof shows that the key computed here from (contract, key) holds exactly `value`, or
 * nothing when value is null.
 */
export function verifyStateWithProof (trust: TrustedValidators, contract: string, key: string, view: StateView): VerifiedState {
  if (view.contract !== contract || view.key !== key) {
    throw new VerificationError('ERR_STATE_KEY', `asked for ${contract}/${key}, node answered for ${view.contract}/${view.key}`)
  }
  if (view.block === undefined || view.block === null) throw new VerificationError('ERR_NO_CERTIFICATE', `state answer for ${contract}/${key} came without its certified block`)
  if (view.proof === undefined || view.proof === null) throw new VerificationError('ERR_NO_PROOF', `state answer for ${contract}/${key} came without a proof (ask with prove=true)`)
  const block = verifyBlockWithCertificate(trust, view.block)
  if (view.height !== block.height || view.stateRoot !== block.stateRoot) {
    throw new VerificationError('ERR_STATE_ROOT', `state answer claims root ${view.stateRoot} at height ${view.height}, but the certified block ${block.height} has root ${block.stateRoot}`)
  }
  const proof: StateProof = guard('ERR_VERIFY_MALFORMED', `state proof for ${contract}/${key} is malformed`, () => ({
    key: stateKey(contract, key),
    value: view.value === null ? null : fromHex(view.value, undefined, 'value'),
    proof: proofBody(view.proof)
  }))
  const cert: Certificate = {
    height: block.height,
    blockHash: fromHex(block.hash, 32),
    stateRoot: fromHex(block.stateRoot, 32),
    signatures: view.block.certificate!.signatures.map(s => ({ validator: s.validator, signature: fromHex(s.signature, 64) }))
  }
  const root: TrustRoot = { chainId: trust.chainId, validators: trust.validators, verify: verifyNoble }
  const value = guard(undefined, `state ${contract}/${key} failed verification`, () => verifyCertifiedState(root, cert, proof, verifyStateProof))
  let decoded: unknown = null
  if (value !== null) {
    try { decoded = decode(value) } catch { decoded = null }
  }
  if (value !== null && view.value !== null && !bytesEqual(value, fromHex(view.value))) {
    throw new VerificationError('ERR_STATE_PROOF', `proven value differs from the one the node sent for ${contract}/${key}`)
  }
  return { contract, key, value: value === null ? null : toHex(value), decoded, height: block.height, stateRoot: block.stateRoot, block }
}

/** The proof arrives as JSON (bytes as hex); either the inner `{ siblings, other }` or a whole StateProof. */
function proofBody (p: unknown): { siblings: Uint8Array[], other: { keyHash: Uint8Array, valueHash: Uint8Array } | null } {
  let o = p as Record<string, unknown>
  if (typeof o !== 'object' || o === null) throw new BftError('ERR_VERIFY_MALFORMED', 'proof is not an object')
  if (!('siblings' in o) && typeof o.proof === 'object' && o.proof !== null) o = o.proof as Record<string, unknown>
  if (!Array.isArray(o.siblings)) throw new BftError('ERR_VERIFY_MALFORMED', 'proof.siblings is not an array')
  const siblings = o.siblings.map((s, i) => bytes(s, `proof.siblings[${i}]`))
  let other: { keyHash: Uint8Array, valueHash: Uint8Array } | null = null
  if (o.other !== null && o.other !== undefined) {
    const x = o.other as Record<string, unknown>
    other = { keyHash: bytes(x.keyHash, 'proof.other.keyHash'), valueHash: bytes(x.valueHash, 'proof.other.valueHash') }
  }
  return { siblings, other }
}

function bytes (v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v
  if (typeof v === 'string') return fromHex(v, undefined, what)
  throw new BftError('ERR_VERIFY_MALFORMED', `${what} is not hex`)
}

/** Runs a check; any BftError (or other failure) becomes a VerificationError with context. */
function guard<T> (code: string | undefined, context: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof VerificationError) throw err
    const c = code ?? (err instanceof BftError ? err.code : 'ERR_VERIFY')
    throw new VerificationError(c, `${context}: ${errorMessage(err)}`)
  }
}
