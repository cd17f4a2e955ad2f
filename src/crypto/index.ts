export { sha256, taggedHash, HASH_BYTES } from './hash.js'
export {
  generateKeyPair, keyPairFromSeed, sign, signNoble, verify, verifyMany, verifyOpenssl, verifyNoble, nodeVerifier, batchVerifier, precheck, clearKeyCache,
  SMALL_ORDER_ENCODINGS, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES, type KeyPair, type SignatureRejection, type SignedMessage
} from './ed25519.js'
export { address, isAddress, ADDRESS_BYTES } from './address.js'
export { merkleRoot, merkleProof, merkleTree, verifyMerkleProof, merkleLeafHash, merkleNodeHash, type MerkleTree } from './merkle.js'
export { measureVerifyRate } from './verify-rate.js'
export { sha256Portable, taggedHashPortable } from './hash-portable.js'
