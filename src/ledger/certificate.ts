import { Type, type Static } from '@sinclair/typebox'
import { Codec } from '../codec/index.js'
import { HASH_BYTES, SIGNATURE_BYTES, verify as nodeVerify } from '../crypto/index.js'
import { checkpointSignBytes, faultTolerance, type CheckpointSignature } from '../consensus/types.js'
import { ValidationError } from '../errors.js'

const Hash32 = Type.Uint8Array({ minByteLength: HASH_BYTES, maxByteLength: HASH_BYTES })

export const CertificateSchema = Type.Object({
  height: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  blockHash: Hash32,
  stateRoot: Hash32,
  signatures: Type.Array(Type.Object({
    validator: Type.Integer({ minimum: 0, maximum: 65535 }),
    signature: Type.Uint8Array({ minByteLength: SIGNATURE_BYTES, maxByteLength: SIGNATURE_BYTES })
  }, { additionalProperties: false }), { maxItems: 1024 })
}, { additionalProperties: false })

/** A block's commit certificate: 2f+1 CHECKPOINT signatures over (height, blockHash, stateRoot). */
export type Certificate = Static<typeof CertificateSchema>
export const certificateCodec = new Codec('Certificate', CertificateSchema, 128 * 1024)

export type VerifyFn = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean

/** Builds a certificate from consensus's `certified` effect. */
export function certificateFromCheckpoints (height: number, blockHash: Uint8Array, stateRoot: Uint8Array, signatures: readonly CheckpointSignature[]): Certificate {
  return {
    height,
    blockHash,
    stateRoot,
    signatures: [...signatures].sort((a, b) => a.replica - b.replica).map(s => ({ validator: s.replica, signature: s.signature }))
  }
}

export interface CertificateCheck {
  /** Validator indices whose signature counted, ascending. */
  signers: number[]
  quorum: number
}

/**
 * Checks that 2f+1 distinct validators signed checkpointSignBytes(chainId, height, blockHash,
 * stateRoot). Unknown indices, repeated validators and bad signatures are ignored rather than
 * fatal (a certificate may carry extra signatures), but they cannot make up the quorum.
 * Pass `verify` = verifyNoble in portable light clients; the default is node:crypto.
 */
export function verifyCertificate (validators: ReadonlyArray<{ publicKey: Uint8Array }>, chainId: string, cert: Certificate, verify: VerifyFn = nodeVerify): CertificateCheck {
  certificateCodec.validate(cert)
  const n = validators.length
  if (n === 0) throw new ValidationError('ERR_CERT_NO_VALIDATORS', 'cannot verify a certificate against an empty validator set')
  const { quorum } = faultTolerance(n)
  const message = checkpointSignBytes(chainId, cert.height, cert.blockHash, cert.stateRoot)
  const signers = new Set<number>()
  let unknown = 0; let duplicate = 0; let invalid = 0
  for (const { validator, signature } of cert.signatures) {
    const v = validators[validator]
    if (v === undefined) { unknown++; continue }
    if (signers.has(validator)) { duplicate++; continue }
    if (!verify(signature, message, v.publicKey)) { invalid++; continue }
    signers.add(validator)
  }
  if (signers.size < quorum) {
    const ignored = [`${unknown} unknown validator`, `${duplicate} duplicate`, `${invalid} invalid signature`].filter(s => !s.startsWith('0 ')).join(', ')
    throw new ValidationError('ERR_CERT_QUORUM',
      `certificate for height ${cert.height} has ${signers.size} valid signatures from distinct validators, needs ${quorum} of ${n}` +
      (ignored === '' ? '' : ` (ignored: ${ignored})`) + ' (wrong chainId, stateRoot or blockHash also shows up as invalid signatures)',
      { height: cert.height, valid: signers.size, quorum, unknown, duplicate, invalid })
  }
  return { signers: [...signers].sort((a, b) => a - b), quorum }
}
