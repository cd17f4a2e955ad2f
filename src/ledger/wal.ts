import { Type, type Static } from '@sinclair/typebox'
import { Codec } from '../codec/index.js'
import { MAX_MESSAGE_BYTES } from '../consensus/messages.js'
import { CorruptionError, ValidationError, errorMessage } from '../errors.js'
import type { PersistRecord } from '../consensus/types.js'
import type { Sublevel } from '../state/api.js'
import { heightFromKey, heightKey, writeOptions } from './db.js'

const WalEntrySchema = Type.Object({
  seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  kind: Type.String({ minLength: 1, maxLength: 64 }),
  bytes: Type.Uint8Array()
}, { additionalProperties: false })
export type WalEntry = Static<typeof WalEntrySchema>
// A record holds one signed consensus message (a VIEW-CHANGE can be large) plus its framing.
const walEntryCodec = new Codec('WalEntry', WalEntrySchema, MAX_MESSAGE_BYTES + 1024)

/**
 * Consensus write-ahead log: what this replica signed, durable (fsync) before the message
 * leaves, so a restarted replica never signs two different things for one (view, seq).
 *
 * Scheme: each record is stored under an 8-byte big-endian append counter (so `load` returns
 * append order) with the consensus sequence number it belongs to. `truncate(belowSeq)` drops
 * every record whose seq < belowSeq; call it when a checkpoint at belowSeq - 1 (or higher)
 * becomes stable. Records about views rather than one seq (VIEW-CHANGE, NEW-VIEW) should be
 * tagged with the highest seq they cover (e.g. the top of the window), so they outlive the
 * prepares they summarize.
 */
export class Wal {
  private readonly level: Sublevel
  private next = 0
  private queue: Promise<unknown> = Promise.resolve()
  /**
   * (append counter, seq) of every stored record, in append order; built by the first
   * truncate, then kept by appends and truncates (both run on `queue`). Why: truncate runs at
   * every stable checkpoint, and reading and decoding every record to find its seq (a
   * PRE-PREPARE carries its whole batch) cost ~3.3 ms of CPU a call with 16 seqs of 60 KB
   * batches in the log.
   */
  private index: Array<{ n: number, seq: number }> | undefined

  private constructor (level: Sublevel) {
    this.level = level
  }

  static async open (level: Sublevel): Promise<Wal> {
    const wal = new Wal(level)
    for await (const key of level.keys({ reverse: true, limit: 1 })) {
      const n = heightFromKey(key)
      if (n < 0) throw new CorruptionError('wal: malformed key')
      wal.next = n + 1
    }
    return wal
  }

  /** Durable before it resolves. */
  async append (record: PersistRecord, seq: number): Promise<void> {
    await this.appendMany([{ record, seq }])
  }

  /** Several records in one fsync (one effect list often persists a few). */
  async appendMany (entries: ReadonlyArray<{ record: PersistRecord, seq: number }>): Promise<void> {
    if (entries.length === 0) return
    const run = this.queue.then(async () => {
      const ops: Array<{ type: 'put', key: Uint8Array, value: Uint8Array }> = []
      let n = this.next
      for (const { record, seq } of entries) {
        const entry = { seq, kind: record.kind, bytes: record.bytes }
        if (!walEntryCodec.is(entry)) {
          throw new ValidationError('ERR_WAL_RECORD', `wal record of kind "${String(record.kind)}" for seq ${seq} is malformed`)
        }
        ops.push({ type: 'put', key: heightKey(n++), value: walEntryCodec.encode(entry) })
      }
      await this.level.batch(ops, writeOptions(true))
      if (this.index !== undefined) for (let i = 0; i < entries.length; i++) this.index.push({ n: this.next + i, seq: entries[i]!.seq })
      this.next = n
    })
    this.queue = run.catch(() => undefined)
    await run
  }

  /** Every stored record in append order, decoded, with its append counter (-1 for a malformed key). */
  private async * stored (): AsyncGenerator<{ n: number, entry: WalEntry }> {
    for await (const [key, value] of this.level.iterator()) {
      const n = heightFromKey(key)
      let entry: WalEntry
      try {
        entry = walEntryCodec.decode(value)
      } catch (err) {
        throw new CorruptionError(`wal record ${n}: undecodable (${errorMessage(err)})`)
      }
      yield { n, entry }
    }
  }

  /** Every record, in append order, each with the seq it was appended with. */
  async load (): Promise<WalEntry[]> {
    const out: WalEntry[] = []
    for await (const { entry } of this.stored()) out.push(entry)
    return out
  }

  private async readIndex (): Promise<Array<{ n: number, seq: number }>> {
    const index: Array<{ n: number, seq: number }> = []
    for await (const { n, entry } of this.stored()) {
      if (n < 0) throw new CorruptionError('wal: malformed key')
      index.push({ n, seq: entry.seq })
    }
    return index
  }

  /** Drops records with seq < belowSeq. Returns how many were dropped. */
  async truncate (belowSeq: number): Promise<number> {
    const run = this.queue.then(async () => {
      const index = this.index ?? await this.readIndex()
      const drop = index.filter(r => r.seq < belowSeq)
      // Not synced: a crash that loses these deletes leaves records below a stable checkpoint,
      // which a restart ignores (restore keeps only seqs above the stable one), and the next
      // append's fsync makes them durable anyway. An fsync here was one more wait per checkpoint.
      if (drop.length > 0) await this.level.batch(drop.map(r => ({ type: 'del' as const, key: heightKey(r.n) })), writeOptions(false))
      this.index = drop.length > 0 ? index.filter(r => r.seq >= belowSeq) : index
      return drop.length
    })
    this.queue = run.catch(() => undefined)
    return await run
  }
}
