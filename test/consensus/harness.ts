import { encode } from '../../src/codec/index.js'
import { keyPairFromSeed, sha256, sign, verify, type KeyPair } from '../../src/crypto/index.js'
import { Replica, type ReplicaOptions } from '../../src/consensus/replica.js'
import { openMessage } from '../../src/consensus/messages.js'
import type { CheckpointSignature, ClientRequest, ConsensusCrypto, PersistRecord, ReplicaConfig, ReplicaEffect, ReplicaEvent } from '../../src/consensus/types.js'
import { rng } from '../support/seeded.js'
export { rng }

/** Deterministic keys: validator i's seed is 32 bytes of (i+1). */
export function validatorKeys (n: number): KeyPair[] {
  return Array.from({ length: n }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)))
}

export function cryptoFor (kp: KeyPair): ConsensusCrypto {
  return { sign: m => sign(m, kp.secretKey), verify, hash: sha256 }
}

export function makeConfig (keys: KeyPair[], self: number, over: Partial<ReplicaConfig> = {}): ReplicaConfig {
  return {
    chainId: 'test-chain',
    validators: keys.map(k => ({ publicKey: k.publicKey })),
    self,
    maxBatchSize: 4,
    maxBatchBytes: 64 * 1024,
    batchTimeoutMs: 10,
    checkpointInterval: 4,
    windowSize: 8,
    viewChangeTimeoutMs: 500,
    maxClockSkewMs: 5_000,
    ...over
  }
}

export function request (i: number): ClientRequest {
  const bytes = encode(['tx', i])
  return { id: sha256(bytes), bytes }
}


interface Pending { at: number, order: number, to: number, event: ReplicaEvent }

export interface Executed { seq: number, ids: string[], timestamp: number, view: number, proposer: number, blockHash: Uint8Array }

/**
 * A tiny driver for tests: a virtual clock, an event queue (messages with a fixed latency),
 * timers, and an executor that answers `execute` with a hash-chained block. `silent`
 * replicas neither receive nor send; `filter` may drop individual messages.
 */
export class Cluster {
  readonly keys: KeyPair[]
  readonly configs: ReplicaConfig[]
  readonly replicas: Replica[]
  readonly effects: ReplicaEffect[][][]
  readonly records: PersistRecord[][]
  readonly executed: Executed[][]
  readonly certified: Array<Map<number, Uint8Array>>
  readonly certificates = new Map<number, CheckpointSignature[]>()
  /** Block syncs served (replica, from seq, to seq). */
  readonly syncs: Array<{ replica: number, from: number, to: number }> = []
  readonly silent = new Set<number>()
  /** Per replica: how long its executions take (the `executed` event comes this much later). */
  readonly execDelayMs = new Map<number, number>()
  filter: ((from: number, to: number, bytes: Uint8Array) => boolean) | undefined
  /** Replaces a message in flight (a Byzantine sender): return the bytes to deliver instead. */
  transform: ((from: number, to: number, bytes: Uint8Array) => Uint8Array) | undefined
  now = 1_000_000
  latencyMs = 1
  private queue: Pending[] = []
  private order = 0
  private readonly timers: Array<Map<string, number>>
  private readonly heads: Uint8Array[]
  private readonly random: (() => number) | undefined

  constructor (n: number, opts: { over?: Partial<ReplicaConfig>, options?: (i: number) => ReplicaOptions, seed?: number } = {}) {
    this.keys = validatorKeys(n)
    this.configs = this.keys.map((_, i) => makeConfig(this.keys, i, opts.over))
    this.replicas = this.configs.map((c, i) => new Replica(c, cryptoFor(this.keys[i]!), opts.options?.(i) ?? {}))
    this.effects = this.replicas.map(() => [])
    this.records = this.replicas.map(() => [])
    this.executed = this.replicas.map(() => [])
    this.certified = this.replicas.map(() => new Map())
    this.timers = this.replicas.map(() => new Map())
    this.heads = this.replicas.map(() => new Uint8Array(32))
    if (opts.seed !== undefined) this.random = rng(opts.seed)
  }

  start (): void {
    for (let i = 0; i < this.replicas.length; i++) if (!this.silent.has(i)) this.apply(i, this.replicas[i]!.start(this.now))
  }

  /** Replaces replica i by a fresh one restored from its records (a crash and restart). */
  restart (i: number, options: ReplicaOptions = {}): void {
    const last = this.executed[i]!.at(-1)
    const restore = {
      records: this.records[i]!.slice(),
      lastExecuted: { seq: last?.seq ?? 0, blockHash: last?.blockHash ?? new Uint8Array(32), stateRoot: new Uint8Array(32) }
    }
    this.replicas[i] = new Replica(this.configs[i]!, cryptoFor(this.keys[i]!), { ...options, restore })
    this.timers[i]!.clear()
    this.queue = this.queue.filter(p => p.to !== i)
    this.apply(i, this.replicas[i]!.start(this.now))
  }

  submit (req: ClientRequest, to: number[] = this.replicas.map((_, i) => i), delayMs = 0): void {
    for (const i of to) this.enqueue(i, { type: 'request', request: req }, delayMs)
  }

  /** Keeps the queue ordered by (time, insertion) with a binary-search insert. */
  private enqueue (to: number, event: ReplicaEvent, delay: number): void {
    const item = { at: this.now + delay, order: this.order++, to, event }
    let lo = 0
    let hi = this.queue.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.queue[mid]!.at <= item.at) lo = mid + 1; else hi = mid
    }
    this.queue.splice(lo, 0, item)
  }

  private apply (i: number, fx: ReplicaEffect[]): void {
    this.effects[i]!.push(fx)
    for (const e of fx) {
      switch (e.type) {
        case 'persist': this.records[i]!.push(e.record); break
        case 'send': {
          if (this.silent.has(i)) break
          const targets = e.to === 'all' ? this.replicas.map((_, j) => j).filter(j => j !== i) : [e.to]
          for (const j of targets) {
            if (this.filter !== undefined && !this.filter(i, j, e.bytes)) continue
            const jitter = this.random === undefined ? 0 : Math.floor(this.random() * 3)
            const bytes = this.transform === undefined ? e.bytes : this.transform(i, j, e.bytes)
            this.enqueue(j, { type: 'message', from: i, bytes }, this.latencyMs + jitter)
          }
          break
        }
        case 'setTimer': this.timers[i]!.set(e.id, this.now + e.delayMs); break
        case 'cancelTimer': this.timers[i]!.delete(e.id); break
        case 'execute': {
          // Already obtained by block sync (the sync raced this execute): skip it.
          if (e.seq <= this.executed[i]!.length) break
          if (e.seq !== this.executed[i]!.length + 1) throw new Error(`replica ${i} asked to execute ${e.seq} after ${this.executed[i]!.length}`)
          const ids = e.requests.map(r => Buffer.from(r.id).toString('hex'))
          const blockHash = sha256(encode([e.seq, this.heads[i]!, ids, e.timestamp, e.view, e.proposer]))
          this.heads[i] = blockHash
          this.executed[i]!.push({ seq: e.seq, ids, timestamp: e.timestamp, view: e.view, proposer: e.proposer, blockHash })
          this.enqueue(i, { type: 'executed', seq: e.seq, blockHash, stateRoot: sha256(blockHash) }, this.execDelayMs.get(i) ?? 0)
          break
        }
        case 'certified':
          this.certified[i]!.set(e.seq, e.blockHash)
          this.certificates.set(e.seq, e.signatures)
          break
        case 'needSync': this.serveSync(i, e.seq); break
        case 'truncateLog':
          this.records[i] = this.records[i]!.filter(r => r.seq === undefined || r.seq >= e.belowSeq)
          break
        default: break
      }
    }
  }

  /** Block sync stand-in: copies certified blocks from the replica that has the most. */
  private serveSync (i: number, seq: number): void {
    const source = this.executed.map((h, j) => ({ h, j })).filter(x => x.j !== i).sort((a, b) => b.h.length - a.h.length)[0]
    if (source === undefined) return
    let to = Math.min(seq, source.h.length)
    while (to > 0 && !this.certificates.has(to)) to--
    const mine = this.executed[i]!
    if (to <= mine.length) return
    this.syncs.push({ replica: i, from: mine.length, to })
    this.executed[i] = source.h.slice(0, to)
    const last = this.executed[i]!.at(-1)!
    this.heads[i] = last.blockHash
    this.enqueue(i, { type: 'synced', seq: to, blockHash: last.blockHash, stateRoot: sha256(last.blockHash), signatures: this.certificates.get(to)! }, 0)
  }

  /** Runs until `done` holds or `maxMs` of virtual time pass; returns whether `done` held. */
  run (done: () => boolean, maxMs = 60_000): boolean {
    const end = this.now + maxMs
    while (!done()) {
      if (this.now > end) return false
      if (this.queue.length > 0) {
        const next = this.queue[0]!
        const timer = this.nextTimer()
        if (timer !== undefined && timer.at < next.at) { this.fire(timer); continue }
        this.queue.shift()
        this.now = Math.max(this.now, next.at)
        if (this.silent.has(next.to)) continue
        this.apply(next.to, this.replicas[next.to]!.step(next.event, this.now))
        continue
      }
      const timer = this.nextTimer()
      if (timer === undefined || timer.at > end) return done()
      this.fire(timer)
    }
    return true
  }

  private nextTimer (): { i: number, id: string, at: number } | undefined {
    let best: { i: number, id: string, at: number } | undefined
    for (let i = 0; i < this.timers.length; i++) {
      if (this.silent.has(i)) continue
      for (const [id, at] of this.timers[i]!) if (best === undefined || at < best.at) best = { i, id, at }
    }
    return best
  }

  private fire (t: { i: number, id: string, at: number }): void {
    this.timers[t.i]!.delete(t.id)
    this.now = Math.max(this.now, t.at)
    this.apply(t.i, this.replicas[t.i]!.step({ type: 'timer', id: t.id }, this.now))
  }

  allEffects (i: number): ReplicaEffect[] {
    return this.effects[i]!.flat()
  }
}

/** Every `rejected` reason a replica produced, for assertions and debugging. */
export function rejections (c: Cluster, i: number): string[] {
  return c.allEffects(i).flatMap(e => e.type === 'rejected' ? [e.reason] : [])
}

/** No replica hit an internal error or saw its own state diverge. */
export function assertNoInternal (c: Cluster): void {
  for (let i = 0; i < c.replicas.length; i++) {
    const bad = rejections(c, i).filter(r => r.startsWith('internal'))
    if (bad.length > 0) throw new Error(`replica ${i}: ${bad.join('; ')}`)
  }
}

/**
 * Every message a replica ever signed (across restarts) is unique per (kind, view, seq):
 * the replica never equivocated, and each one was persisted before (or in the same effect
 * list ahead of) the send that carried it.
 */
export function assertPersistBeforeSendAndNoEquivocation (c: Cluster): void {
  for (let i = 0; i < c.replicas.length; i++) {
    const persisted: Buffer[] = []
    const signed = new Map<string, string>()
    for (const list of c.effects[i]!) {
      for (const e of list) {
        if (e.type === 'persist') { persisted.push(Buffer.from(e.record.bytes)); continue }
        if (e.type !== 'send') continue
        const o = openMessage(e.bytes, c.configs[i]!, cryptoFor(c.keys[i]!))
        if (!('body' in o)) throw new Error(`replica ${i} sent an unreadable message: ${o.error}`)
        if (o.from !== i) continue
        const wire = Buffer.from(e.bytes)
        if (!persisted.some(p => p.includes(wire))) throw new Error(`replica ${i} sent a ${o.body.kind} it had not persisted`)
        const b = o.body
        let key: string | undefined
        let value = ''
        switch (b.kind) {
          case 'pre-prepare': case 'prepare': case 'commit':
            key = `${b.kind}:${b.payload.view}:${b.payload.seq}`; value = Buffer.from(b.payload.digest).toString('hex'); break
          case 'checkpoint': key = `checkpoint:${b.payload.seq}`; value = Buffer.from(b.payload.blockHash).toString('hex'); break
          case 'view-change': key = `view-change:${b.payload.newView}`; value = wire.toString('hex'); break
          case 'new-view': key = `new-view:${b.payload.view}`; value = wire.toString('hex'); break
        }
        const prev = signed.get(key)
        if (prev !== undefined && prev !== value) throw new Error(`replica ${i} signed two different ${key}`)
        signed.set(key, value)
      }
    }
  }
}
