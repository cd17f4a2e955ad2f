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
  execute: (e: ExecuteEffect) => Promise<{ blockHash: Uint8Array, stateRoot: Uint8Array, retryable?: Uint8Array[] }>
  /** Stores a certificate; runs beside the queue (see certifyBeside) and must handle its own errors. */
  onCertified: (e: CertifiedEffect) => Promise<void>
  onNeedSync: (seq: number) => void
  onViewChanged: (view: number, primary: number) => void
  onViewChangeStarted: (e: Extract<ReplicaEffect, { type: 'viewChangeStarted' }>) => void
  onRejected: (from: number, reason: string) => void
  logger: Logger
}

/** Events stepped together before their effects are applied: bounds the delay of the first one's sends. */
const MAX_GROUP = 256

/**
 * Runs the pure replica against the real world.
 *
 * Group commit: events that queued up while the previous group's effects were being applied
 * are stepped together (the replica is synchronous), then every record they asked to persist
 * is written in ONE fsynced WAL append, and only then do their other effects (sends first among
 * them) run, in order. So "persist before send" holds for every message, but a burst of votes
 * costs one fsync instead of one each: with one fsync per vote, blocks/s was bounded by disk
 * latency, not CPU. Moving a later step's persist ahead of an earlier step's sends, timers or
 * WAL truncation only makes records durable sooner; truncation removes records below a stable
 * checkpoint, which no later step writes.
 *
 * Execution runs beside the event loop of the replica, not inside it: the replica emits one
 * `execute` at a time and hears `executed` back as an ordinary event, so consensus messages
 * for later sequence numbers keep flowing while a block executes and is written.
 */
export class ConsensusDriver {
  private readonly deps: DriverDeps
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly inbox: Array<() => ReplicaEffect[]> = []
  private draining: Promise<void> | null = null
  private executions: Promise<void> = Promise.resolve()
  private certifications: Promise<void> = Promise.resolve()
  private truncations: Promise<void> = Promise.resolve()
  private stopped = false

  constructor (deps: DriverDeps) {
    this.deps = deps
  }

  start (): void {
    this.enqueue(() => this.deps.replica.start(this.deps.now()))
  }

  stop (): void {
    this.stopped = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  /** Resolves when every event queued so far has been handled and no execution is running. */
  async idle (): Promise<void> {
    while (this.draining !== null) await this.draining
    await this.executions
    await this.certifications
    await this.truncations
  }

  get backlog (): number {
    return this.inbox.length
  }

  push (event: ReplicaEvent): void {
    this.enqueue(() => this.deps.replica.step(event, this.deps.now()))
  }

  private enqueue (produce: () => ReplicaEffect[]): void {
    if (this.stopped) return
    this.inbox.push(produce)
    if (this.draining === null) {
      this.draining = this.drain().finally(() => { this.draining = null })
    }
  }

  private async drain (): Promise<void> {
    // Start on a fresh turn so events arriving in the same turn join the first group.
    await Promise.resolve()
    while (this.inbox.length > 0 && !this.stopped) {
      const group = this.inbox.splice(0, MAX_GROUP)
      const effects: ReplicaEffect[] = []
      for (const produce of group) {
        for (const e of produce()) effects.push(e)
      }
      try {
        await this.apply(effects)
      } catch (err) {
        this.fail(err)
      }
    }
  }

  /**
   * An effect failing (disk full, LevelDB closed) leaves the replica unable to keep its
   * promises; stop driving it rather than sign on top of state that was not persisted.
   */
  private fail (err: unknown): void {
    this.deps.logger.fatal({ err: errorMessage(err) }, 'consensus effect failed; driver stopped')
    this.stop()
  }

  private async apply (effects: ReplicaEffect[]): Promise<void> {
    const records: PersistRecord[] = []
    for (const e of effects) if (e.type === 'persist') records.push(e.record)
    if (records.length > 0) await this.deps.persist(records)
    for (const e of effects) {
      if (this.stopped) return
      switch (e.type) {
        case 'persist':
          break
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
        case 'execute':
          this.executeBeside(e)
          break
        case 'certified':
          this.certifyBeside(e)
          break
        case 'needSync':
          this.deps.onNeedSync(e.seq)
          break
        case 'viewChanged':
          this.deps.onViewChanged(e.view, e.primary)
          break
        case 'viewChangeStarted':
          this.deps.onViewChangeStarted(e)
          break
        case 'rejected':
          this.deps.onRejected(e.from, e.reason)
          break
        default: {
          const other = e as { type: string, belowSeq?: number }
          if (other.type === 'truncateLog' && typeof other.belowSeq === 'number') this.truncateBeside(other.belowSeq)
        }
      }
    }
  }

  /**
   * Storing a certificate is a LevelDB write for a block already executed; nothing the replica
   * does next depends on it. Awaited here, it held every queued vote of the next blocks for one
   * more wait on LevelDB per block (docs/performance.md, fourteenth session). In order among
   * themselves; a failure is the callee's to log, it never stops the driver.
   */
  private certifyBeside (e: CertifiedEffect): void {
    this.certifications = this.certifications.then(async () => {
      if (!this.stopped) await this.deps.onCertified(e)
    }).catch(err => { this.deps.logger.error({ err: errorMessage(err), seq: e.seq }, 'storing a certificate failed') })
  }

  /**
   * WAL truncation drops records below a stable checkpoint, which no later step writes or
   * needs, so the queue need not wait for it; the WAL orders it with later appends itself. A
   * failure is logged: the records stay, and a restart ignores them (below the stable seq).
   */
  private truncateBeside (belowSeq: number): void {
    // Called now, so the WAL queues it before any later append; handled at once, so a failure
    // is never an unhandled rejection while an earlier truncation is still running.
    const run = this.deps.truncate(belowSeq).catch(err => { this.deps.logger.error({ err: errorMessage(err), belowSeq }, 'WAL truncation failed') })
    this.truncations = Promise.all([this.truncations, run]).then(() => {})
  }

  private executeBeside (e: ExecuteEffect): void {
    this.executions = this.executions.then(async () => {
      if (this.stopped) return
      const r = await this.deps.execute(e)
      this.push({ type: 'executed', seq: e.seq, blockHash: r.blockHash, stateRoot: r.stateRoot, ...(r.retryable !== undefined ? { retryable: r.retryable } : {}) })
    }).catch(err => { this.fail(err) })
  }
}
