import { bytesEqual, toHex } from '../codec/index.js'
import { ValidationError } from '../errors.js'
import type { StateProof } from '../state/api.js'
import { verifyStateProof } from '../state/proof.js'
import { blockCodec, blockHash, type Block, type BlockHeader } from './block.js'
import { verifyCertificate, type Certificate, type VerifyFn, type CertificateCheck } from './certificate.js'
import { txRoot, verifyMerkleProof } from './txroot.js'

/**
 * What a light client (or a syncing node) needs to trust data from an untrusted peer: the
 * genesis validator set, and 2f+1 of their checkpoint signatures. Never the peer itself.
 */
export interface TrustRoot {
  chainId: string
  validators: ReadonlyArray<{ publicKey: Uint8Array }>
  /** Signature check; light clients pass verifyNoble, nodes keep the node:crypto default. */
  verify?: VerifyFn
}

/**
 * Checks a block against its certificate: the certificate has a quorum, names this height, and
 * the recomputed header hash and txRoot match. Returns the certificate check.
 */
export function verifyCertifiedBlock (trust: TrustRoot, block: Block, cert: Certificate): CertificateCheck {
  blockCodec.validate(block)
  const check = verifyCertificate(trust.validators, trust.chainId, cert, trust.verify)
  const h = block.header
  if (h.chainId !== trust.chainId) throw new ValidationError('ERR_WRONG_CHAIN', `block ${h.height} is for chain "${h.chainId}", expected "${trust.chainId}"`)
  if (h.height !== cert.height) throw new ValidationError('ERR_CERT_HEIGHT', `block ${h.height} was given with the certificate of height ${cert.height}`)
  const hash = blockHash(h)
  if (!bytesEqual(hash, cert.blockHash)) {
    throw new ValidationError('ERR_CERT_BLOCK_HASH', `block ${h.height}: header hash ${toHex(hash)} is not the certified ${toHex(cert.blockHash)}`)
  }
  if (!bytesEqual(txRoot(block.txs), h.txRoot)) {
    throw new ValidationError('ERR_BLOCK_TX_ROOT', `block ${h.height}: its transactions do not match the certified txRoot`)
  }
  return check
}

/** Checks that `tx` is the index-th of `count` txs under a header whose hash is certified. */
export function verifyTxInCertifiedHeader (trust: TrustRoot, header: BlockHeader, cert: Certificate, tx: Uint8Array, index: number, count: number, proof: Uint8Array[]): void {
  verifyCertificate(trust.validators, trust.chainId, cert, trust.verify)
  if (header.height !== cert.height || !bytesEqual(blockHash(header), cert.blockHash)) {
    throw new ValidationError('ERR_CERT_BLOCK_HASH', `header of block ${header.height} is not the one certified at height ${cert.height}`)
  }
  if (!verifyMerkleProof(header.txRoot, tx, index, count, proof)) {
    throw new ValidationError('ERR_TX_PROOF', `tx inclusion proof for index ${index} of block ${header.height} does not verify`)
  }
}

/** Default: state/'s portable verifyStateProof(root, proof). */
export type StateProofVerifier = (root: Uint8Array, proof: StateProof) => boolean

/**
 * Checks a state read (value or absence of a key) against the stateRoot the certificate signs.
 * Returns the proven value (null = key absent).
 */
export function verifyCertifiedState (trust: TrustRoot, cert: Certificate, proof: StateProof, verifyProof: StateProofVerifier = verifyStateProof): Uint8Array | null {
  verifyCertificate(trust.validators, trust.chainId, cert, trust.verify)
  let ok = false
  try {
    ok = verifyProof(cert.stateRoot, proof)
  } catch {
    ok = false
  }
  if (!ok) {
    throw new ValidationError('ERR_STATE_PROOF', `state proof for key ${toHex(proof.key)} does not verify against the stateRoot certified at height ${cert.height}`)
  }
  return proof.value
}
