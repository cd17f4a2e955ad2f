import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import type { PersistRecord, ReplicaEffect, ReplicaEvent } from '../consensus/types.js'

/** The slice of the pure replica the driver needs (the Replica class satisfies it). */
export interface ReplicaLike {
  start: (now: number) => ReplicaEffect[]
  step: (event: ReplicaEvent, now: number) => ReplicaEffect[]
}

export type ExecuteEffect = Extract<ReplicaEffect, { type: 'execute' }>
export type CertifiedEffect = Extract<ReplicaEffect, { type: 'certified' }>

export interface DriverDeps {
  replica: ReplicaLike
  now: () => number
  /** Durably appends records; resolves only after they are on disk (sync write). */
  persist: (records: PersistRecord[]) => Promise<void>
  truncate: (belowSeq: number) => Promise<void>
  send: (to: number | 'all', bytes: Uint8Array) => void
  /** Executes a committed batch as a block and writes it; returns what the replica checkpoints. */
  execute: (e: ExecuteEffect) => Promise<{ blockHash: Uint8Array, stateRoot: Uint8Array }>
  onCertified: (e: CertifiedEffect) => Promise<void>
  onNeedSync: (seq: number) => void
  onViewChanged: (view: number, primary: number) => void
  onRejected: (from: number, reason: string) => void
  logger: Logger
}

/**
 * Runs the pure replica against the real world. Events are processed strictly one at a time
 * (a promise chain), and within one step's effects every `persist` completes before any later
 * `send` leaves: that is the "persist before send" rule that keeps a restarted replica from
 * signing two different things for one (view, seq).
 */
export class ConsensusDriver {
  private readonly deps: DriverDeps
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private queue: Promise<void> = Promise.resolve()
  private stopped = false
  private pending = 0

  constructor (deps: DriverDeps) {
    this.deps = deps
  }

  start (): void {
    this.enqueueEffects(() => this.deps.replica.start(this.deps.now()))
  }

  stop (): void {
    this.stopped = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  /** Resolves when every event queued so far has been handled. */
  async idle (): Promise<void> {
    await this.queue
  }

  get backlog (): number {
    return this.pending
  }

  push (event: ReplicaEvent): void {
    this.enqueueEffects(() => this.deps.replica.step(event, this.deps.now()))
  }

  private enqueueEffects (produce: () => ReplicaEffect[]): void {
    if (this.stopped) return
    this.pending++
    this.queue = this.queue.then(async () => {
      this.pending--
      if (this.stopped) return
      try {
        await this.apply(produce())
      } catch (err) {
        // An effect failing (disk full, LevelDB closed) leaves the replica unable to keep its
        // promises; stop driving it rather than sign on top of state that was not persisted.
        this.deps.logger.fatal({ err: errorMessage(err) }, 'consensus effect failed; driver stopped')
        this.stop()
      }
    })
  }

  private async apply (effects: ReplicaEffect[]): Promise<void> {
    let records: PersistRecord[] = []
    const flush = async (): Promise<void> => {
      if (records.length === 0) return
      const r = records
      records = []
      await this.deps.persist(r)
    }
    for (const e of effects) {
      if (e.type === 'persist') { records.push(e.record); continue }
      await flush()
      switch (e.type) {
        case 'send':
          this.deps.send(e.to, e.bytes)
          break
        case 'setTimer': {
          const old = this.timers.get(e.id)
          if (old !== undefined) clearTimeout(old)
          const id = e.id
          this.timers.set(id, setTimeout(() => {
            this.timers.delete(id)
            this.push({ type: 'timer', id })
          }, Math.max(0, e.delayMs)))
          break
        }
        case 'cancelTimer': {
          const t = this.timers.get(e.id)
          if (t !== undefined) { clearTimeout(t); this.timers.delete(e.id) }
          break
        }
        case 'execute': {
          const r = await this.deps.execute(e)
          // Fed back through the queue so it is ordered after effects already emitted.
          await this.apply(this.deps.replica.step({ type: 'executed', seq: e.seq, blockHash: r.blockHash, stateRoot: r.stateRoot }, this.deps.now()))
          break
        }
        case 'certified':
          await this.deps.onCertified(e)
          break
        case 'needSync':
          this.deps.onNeedSync(e.seq)
          break
        case 'viewChanged':
          this.deps.onViewChanged(e.view, e.primary)
          break
        case 'rejected':
          this.deps.onRejected(e.from, e.reason)
          break
        default: {
          const other = e as { type: string, belowSeq?: number }
          if (other.type === 'truncateLog' && typeof other.belowSeq === 'number') await this.deps.truncate(other.belowSeq)
        }
      }
    }
    await flush()
  }
}
