import type { ClientRequest } from '../../consensus/types.js'
import type { ExecutedBlock } from '../app.js'
import { shortHex, type Violation } from './types.js'

/**
 * Validity: a correct replica executes only requests some client submitted (same id, same
 * bytes, after their submission), and applies each at most once, across crashes and syncs.
 */
export class ValidityChecker {
  private readonly submitted = new Map<string, { bytes: Uint8Array, at: number }>()
  private readonly applied = new Map<number, Set<string>>()
  duplicateInclusions = 0

  constructor (private readonly report: (v: Violation) => void) {}

  onSubmit (request: ClientRequest, time: number): void {
    const id = Buffer.from(request.id).toString('hex')
    if (!this.submitted.has(id)) this.submitted.set(id, { bytes: request.bytes, at: time })
  }

  submittedIds (): string[] {
    return [...this.submitted.keys()]
  }

  onExecute (replica: number, block: ExecutedBlock, requests: ClientRequest[] | undefined, time: number): void {
    let seen = this.applied.get(replica)
    if (seen === undefined) { seen = new Set(); this.applied.set(replica, seen) }
    if (requests !== undefined) {
      for (const r of requests) {
        const id = Buffer.from(r.id).toString('hex')
        const s = this.submitted.get(id)
        if (s === undefined) {
          this.report({ invariant: 'validity', time, replica, seq: block.seq, message: `replica ${replica} executed request ${shortHex(id)} at seq ${block.seq} that no client submitted` })
        } else if (Buffer.compare(s.bytes, r.bytes) !== 0) {
          this.report({ invariant: 'validity', time, replica, seq: block.seq, message: `replica ${replica} executed request ${shortHex(id)} at seq ${block.seq} with bytes that differ from the submitted ones` })
        } else if (s.at > time) {
          this.report({ invariant: 'validity', time, replica, seq: block.seq, message: `replica ${replica} executed request ${shortHex(id)} before it was submitted` })
        }
      }
    }
    const inBlock = new Set<string>()
    for (const rid of block.requestIds) {
      const id = Buffer.from(rid).toString('hex')
      if (inBlock.has(id) || (seen.has(id) && !block.appliedIds.includes(id))) this.duplicateInclusions++
      inBlock.add(id)
    }
    for (const id of block.appliedIds) {
      if (seen.has(id)) {
        this.report({ invariant: 'validity', time, replica, seq: block.seq, message: `replica ${replica} applied request ${shortHex(id)} a second time at seq ${block.seq}` })
      }
      seen.add(id)
    }
  }
}
