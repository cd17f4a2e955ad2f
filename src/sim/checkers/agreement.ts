import type { ExecutedBlock } from '../app.js'
import { shortHex, type Violation } from './types.js'

/**
 * Agreement: no two correct replicas execute different blocks at one sequence number, or the
 * same block to different state roots, and each replica executes seq 1, 2, 3... without gaps
 * or regressions. Keeps the canonical history (first block seen at each seq) and checks every
 * execution against it.
 */
export class AgreementChecker {
  private readonly canonical = new Map<number, { block: ExecutedBlock, replica: number }>()
  private readonly lastSeq = new Map<number, number>()

  constructor (private readonly report: (v: Violation) => void) {}

  canonicalBlock (seq: number): ExecutedBlock | undefined {
    return this.canonical.get(seq)?.block
  }

  get height (): number {
    return this.canonical.size
  }

  /** The replica restarted or synced: its app's height is the new baseline. */
  resetBaseline (replica: number, seq: number): void {
    this.lastSeq.set(replica, seq)
  }

  onExecute (replica: number, block: ExecutedBlock, time: number): void {
    const prev = this.lastSeq.get(replica) ?? 0
    if (block.seq !== prev + 1) {
      this.report({ invariant: 'agreement', time, replica, seq: block.seq, message: `replica ${replica} executed seq ${block.seq} after seq ${prev} (gap or regression)` })
    }
    this.lastSeq.set(replica, Math.max(prev, block.seq))
    const c = this.canonical.get(block.seq)
    if (c === undefined) {
      this.canonical.set(block.seq, { block, replica })
      return
    }
    const a = c.block
    if (Buffer.compare(a.batchDigest, block.batchDigest) !== 0) {
      this.report({
        invariant: 'agreement',
        time,
        replica,
        seq: block.seq,
        message: `replica ${replica} executed batch ${shortHex(block.batchDigest)} [${block.requestIds.length} reqs] at seq ${block.seq}, ` +
          `but replica ${c.replica} executed batch ${shortHex(a.batchDigest)} [${a.requestIds.length} reqs]`
      })
    } else if (a.proposer !== block.proposer || a.timestamp !== block.timestamp) {
      this.report({
        invariant: 'agreement',
        time,
        replica,
        seq: block.seq,
        message: `replica ${replica} executed seq ${block.seq} with proposer ${block.proposer} timestamp ${block.timestamp}, ` +
          `but replica ${c.replica} with proposer ${a.proposer} timestamp ${a.timestamp}: same batch, different block header`
      })
    } else if (Buffer.compare(a.blockHash, block.blockHash) !== 0) {
      this.report({ invariant: 'agreement', time, replica, seq: block.seq, message: `replica ${replica} block hash ${shortHex(block.blockHash)} at seq ${block.seq} differs from replica ${c.replica}'s ${shortHex(a.blockHash)} (different history before it)` })
    } else if (Buffer.compare(a.stateRoot, block.stateRoot) !== 0) {
      this.report({ invariant: 'agreement', time, replica, seq: block.seq, message: `replica ${replica} state root ${shortHex(block.stateRoot)} after seq ${block.seq} differs from replica ${c.replica}'s ${shortHex(a.stateRoot)}: same block, different execution (nondeterminism)` })
    }
  }
}
