import { ValidationError } from '../errors.js'

/** The moments a node records for a tx it admitted, in the order they normally happen. */
export const TRACE_STAGES = ['admitted', 'proposed', 'ordered', 'executed'] as const
export type TraceStage = typeof TRACE_STAGES[number]
const STAGE_INDEX: Readonly<Record<TraceStage, number>> = { admitted: 0, proposed: 1, ordered: 2, executed: 3 }

/** What the API shows of a trace: its id and the stages reached, in ms since the epoch. */
export interface TraceView {
  traceId: string
  timings: Partial<Record<TraceStage, number>>
}

/**
 * A string V8 holds as one sequential object. randomUUID() and `${id}.${i}` return cons
 * strings (a tree of pieces, ~13 heap objects for a UUID); trim() flattens its receiver and,
 * with nothing to trim, returns the flat result.
 */
function flat (s: string): string {
  const t = s.trim()
  return t.length === s.length ? t : s
}

/**
 * The trace ids and stage times of the last `capacity` txs a node admitted, in a ring of
 * slots: a map from tx id to slot, the trace ids in an array and the times in one Float64Array
 * (NaN: stage not reached). The oldest trace is overwritten first.
 *
 * Why not a map of small objects, as before: a trace was a record, its timings object, their
 * properties and the pieces of a cons-string id, ~17 heap objects; with 200,000 traces kept
 * (80 s at 2,500 tx/s) that was over 3 million objects, live and old, that every major GC had
 * to mark. Here a trace costs the map entry, its tx id and its (flat) trace id.
 */
export class TraceLog {
  private readonly slots = new Map<string, number>()
  private readonly txIds: Array<string | undefined>
  private readonly traceIds: string[]
  private readonly times: Float64Array
  private next = 0

  constructor (readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new ValidationError('ERR_BAD_ARGUMENT', `TraceLog capacity must be a positive integer, got ${capacity}`)
    this.txIds = new Array<string | undefined>(capacity).fill(undefined)
    this.traceIds = new Array<string>(capacity).fill('')
    this.times = new Float64Array(capacity * TRACE_STAGES.length).fill(Number.NaN)
  }

  get size (): number {
    return this.slots.size
  }

  /**
   * Starts the trace of `txId` with `traceId` unless it has one (the first id a tx was
   * admitted under stays its id). Returns the trace id it keeps.
   */
  begin (txId: string, traceId: string): string {
    const slot = this.slots.get(txId)
    if (slot !== undefined) return this.traceIds[slot]!
    const s = this.next
    this.next = (s + 1) % this.capacity
    const old = this.txIds[s]
    if (old !== undefined) this.slots.delete(old)
    this.txIds[s] = txId
    const id = flat(traceId)
    this.traceIds[s] = id
    this.times.fill(Number.NaN, s * TRACE_STAGES.length, (s + 1) * TRACE_STAGES.length)
    this.slots.set(txId, s)
    return id
  }

  /** Records when `txId` reached `stage`; `onlyFirst` keeps an earlier time. No-op for an untraced tx. */
  mark (txId: string, stage: TraceStage, at: number, onlyFirst = false): void {
    const slot = this.slots.get(txId)
    if (slot === undefined) return
    const i = slot * TRACE_STAGES.length + STAGE_INDEX[stage]
    if (onlyFirst && !Number.isNaN(this.times[i]!)) return
    this.times[i] = at
  }

  /** When `txId` reached `stage`, if it is traced and did. */
  time (txId: string, stage: TraceStage): number | undefined {
    const slot = this.slots.get(txId)
    if (slot === undefined) return undefined
    const t = this.times[slot * TRACE_STAGES.length + STAGE_INDEX[stage]]!
    return Number.isNaN(t) ? undefined : t
  }

  traceId (txId: string): string | undefined {
    const slot = this.slots.get(txId)
    return slot === undefined ? undefined : this.traceIds[slot]
  }

  /** The trace of `txId` as the API shows it, if it is still kept. */
  view (txId: string): TraceView | undefined {
    const slot = this.slots.get(txId)
    if (slot === undefined) return undefined
    const timings: Partial<Record<TraceStage, number>> = {}
    TRACE_STAGES.forEach((stage, k) => {
      const t = this.times[slot * TRACE_STAGES.length + k]!
      if (!Number.isNaN(t)) timings[stage] = t
    })
    return { traceId: this.traceIds[slot]!, timings }
  }
}
