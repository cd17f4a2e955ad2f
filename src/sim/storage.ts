import type { PersistRecord } from '../consensus/types.js'

/**
 * Per-replica durable storage of the consensus write-ahead log. A record is durable the
 * moment its `persist` effect is applied (the effects after it are not yet carried out), so
 * a crash between two effects of one step keeps exactly the records before the cut. A
 * restarted replica gets every record back through `restore`.
 */
export class SimStorage {
  private readonly logs: PersistRecord[][]
  private bytes = 0

  constructor (n: number) {
    this.logs = Array.from({ length: n }, () => [])
  }

  append (replica: number, record: PersistRecord): void {
    // Copy: the replica may reuse the buffer, and storage must hold what was written then.
    this.logs[replica]!.push(copy(record))
    this.bytes += record.bytes.length
  }

  /** A new stable checkpoint: records about seqs below it are garbage; records without seq stay. */
  truncate (replica: number, belowSeq: number): void {
    this.logs[replica] = this.logs[replica]!.filter(r => r.seq === undefined || r.seq >= belowSeq)
  }

  records (replica: number): PersistRecord[] {
    return this.logs[replica]!.map(copy)
  }

  count (replica: number): number {
    return this.logs[replica]!.length
  }

  get totalBytes (): number {
    return this.bytes
  }
}

function copy (r: PersistRecord): PersistRecord {
  const out: PersistRecord = { kind: r.kind, bytes: Uint8Array.from(r.bytes) }
  if (r.seq !== undefined) out.seq = r.seq
  return out
}
