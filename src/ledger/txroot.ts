import { merkleRoot, merkleProof, verifyMerkleProof } from '../crypto/merkle.js'

/**
 * A block's txRoot: the RFC 6962 Merkle root of its transactions' bytes (leaf = H(0x00||tx),
 * node = H(0x01||l||r), empty = H("")). Kept as one ledger-level name so a light client can
 * prove a tx is in a certified block with txInclusionProof.
 */
export function txRoot (txs: readonly Uint8Array[]): Uint8Array {
  return merkleRoot([...txs])
}

export function txInclusionProof (txs: readonly Uint8Array[], index: number): Uint8Array[] {
  return merkleProof([...txs], index)
}

export { verifyMerkleProof }
