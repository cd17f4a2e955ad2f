import { checkpointSignBytes, type CheckpointSignature, type ConsensusCrypto, type Validator } from '../../consensus/types.js'
import { faultTolerance } from '../../consensus/types.js'
import type { AgreementChecker } from './agreement.js'
import { shortHex, type Violation } from './types.js'

export interface Certificate {
  seq: number
  blockHash: Uint8Array
  stateRoot: Uint8Array
  signatures: CheckpointSignature[]
}

/**
 * Checkpoint/certificate consistency: every certificate a correct replica emits carries 2f+1
 * valid signatures from distinct validators over checkpointSignBytes, and certifies exactly
 * the block (hash and state root) the correct replicas executed at that seq.
 */
export class CertificateChecker {
  private readonly pending: Array<{ replica: number, cert: Certificate, time: number }> = []
  private readonly quorum: number

  constructor (
    private readonly chainId: string,
    private readonly validators: Validator[],
    private readonly crypto: ConsensusCrypto,
    private readonly agreement: AgreementChecker,
    private readonly report: (v: Violation) => void
  ) {
    this.quorum = faultTolerance(validators.length).quorum
  }

  /** Returns whether the certificate is valid (so the sync stand-in may rely on it). */
  verify (cert: Certificate): string | null {
    const msg = checkpointSignBytes(this.chainId, cert.seq, cert.blockHash, cert.stateRoot)
    const seen = new Set<number>()
    for (const s of cert.signatures) {
      if (!Number.isInteger(s.replica) || s.replica < 0 || s.replica >= this.validators.length) return `signature from unknown replica ${s.replica}`
      if (seen.has(s.replica)) return `two signatures from replica ${s.replica}`
      seen.add(s.replica)
      if (!this.crypto.verify(s.signature, msg, this.validators[s.replica]!.publicKey)) return `bad signature from replica ${s.replica}`
    }
    if (seen.size < this.quorum) return `${seen.size} signatures, quorum is ${this.quorum}`
    return null
  }

  onCertified (replica: number, cert: Certificate, time: number): void {
    const bad = this.verify(cert)
    if (bad !== null) {
      this.report({ invariant: 'certificate', time, replica, seq: cert.seq, message: `replica ${replica} emitted an invalid certificate for seq ${cert.seq}: ${bad}` })
      return
    }
    this.pending.push({ replica, cert, time })
    this.flush()
  }

  /** Compares certificates with the canonical history once it reaches their seq. */
  flush (): void {
    for (let i = 0; i < this.pending.length;) {
      const { replica, cert, time } = this.pending[i]!
      const block = this.agreement.canonicalBlock(cert.seq)
      if (block === undefined) { i++; continue }
      this.pending.splice(i, 1)
      if (Buffer.compare(block.blockHash, cert.blockHash) !== 0 || Buffer.compare(block.stateRoot, cert.stateRoot) !== 0) {
        this.report({
          invariant: 'certificate',
          time,
          replica,
          seq: cert.seq,
          message: `replica ${replica} certified seq ${cert.seq} as block ${shortHex(cert.blockHash)} root ${shortHex(cert.stateRoot)}, ` +
            `but correct replicas executed block ${shortHex(block.blockHash)} root ${shortHex(block.stateRoot)}`
        })
      }
    }
  }
}
