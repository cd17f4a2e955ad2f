import type { ConsensusCrypto, ReplicaEffect, ReplicaEvent } from '../consensus/types.js'
import type { MessageTools } from './message-tools.js'
import { RequestFactory } from './requests.js'
import { HashChainApp } from './app.js'
import type { ByzantineBehaviour } from './faults.js'
import type { Prng } from './prng.js'
import type { SimReplica } from './replica-api.js'

type Effect = ReplicaEffect & { type: 'send' | 'setTimer' | 'cancelTimer' }

export interface ByzantineStats {
  equivocations: number
  echoedVotes: number
  forged: number
  replayed: number
  futureViews: number
  corrupted: number
}

const SHADOW = 'shadow/'

/**
 * A Byzantine replica. It runs the real Replica code (so its messages are well-formed and
 * timely) and then lies with its own key: `equivocate` runs a second, "shadow" replica with a
 * different view of the requests and shows one half of the cluster the main replica's
 * messages and the other half the shadow's (different batches for one seq as primary,
 * different votes as backup); `conflicting-votes` echoes every vote it receives back as its
 * own vote for the same thing; `forge` signs as another replica or sends garbage signatures
 * and bit-flipped bytes; `replay` re-sends old messages; `future-view` bumps the view of its
 * messages far ahead; `silent` sends nothing. It never crashes the simulation, and its own
 * execution is not checked.
 */
export class ByzantineHost {
  readonly stats: ByzantineStats = { equivocations: 0, echoedVotes: 0, forged: 0, replayed: 0, futureViews: 0, corrupted: 0 }
  private readonly main: SimReplica
  private readonly shadow: SimReplica | null
  private readonly mainApp = new HashChainApp()
  private readonly shadowApp = new HashChainApp()
  private readonly sideB = new Set<number>()
  private readonly seen: Uint8Array[] = []

  constructor (
    readonly id: number,
    private readonly n: number,
    readonly behaviours: ReadonlySet<ByzantineBehaviour>,
    private readonly prng: Prng,
    makeReplica: () => SimReplica,
    private readonly crypto: ConsensusCrypto,
    private readonly tools: MessageTools,
    /** The Byzantine replicas collude: they do not echo each other (that would only ping-pong). */
    private readonly accomplices: ReadonlySet<number> = new Set()
  ) {
    this.main = makeReplica()
    this.shadow = behaviours.has('equivocate') ? makeReplica() : null
    const others = prng.shuffle(Array.from({ length: n }, (_, i) => i).filter(i => i !== id))
    for (const r of others.slice(0, Math.ceil(others.length / 2))) this.sideB.add(r)
  }

  get view (): number {
    return this.main.view
  }

  start (now: number): Effect[] {
    if (this.behaviours.has('silent')) return []
    const out = this.run(this.main, false, { start: true }, now)
    if (this.shadow !== null) out.push(...this.run(this.shadow, true, { start: true }, now))
    return out
  }

  step (event: ReplicaEvent, now: number): Effect[] {
    // A silent replica's messages never leave, so there is no point computing them.
    if (this.behaviours.has('silent')) return []
    if (event.type === 'message') this.remember(event.bytes)
    if (event.type === 'timer') {
      if (event.id.startsWith(SHADOW)) {
        return this.shadow === null ? [] : this.run(this.shadow, true, { event: { type: 'timer', id: event.id.slice(SHADOW.length) } }, now)
      }
      return this.run(this.main, false, { event }, now)
    }
    const out = this.run(this.main, false, { event }, now)
    if (this.shadow !== null) {
      // The shadow misses some requests, so as primary it cuts different batches.
      if (event.type !== 'request' || this.prng.chance(0.5)) out.push(...this.run(this.shadow, true, { event }, now))
    }
    if (event.type === 'message' && this.behaviours.has('conflicting-votes') && !this.accomplices.has(event.from)) out.push(...this.echo(event.from, event.bytes))
    return out
  }

  /** Spontaneous mischief, called periodically by the cluster. */
  tick (now: number): Effect[] {
    if (this.behaviours.has('silent')) return []
    const out: Effect[] = []
    if (this.behaviours.has('replay') && this.seen.length > 0) {
      for (let k = this.prng.int(1, 3); k > 0; k--) {
        out.push({ type: 'send', to: this.randomPeer(), bytes: this.prng.pick(this.seen) })
        this.stats.replayed++
      }
    }
    if (this.behaviours.has('forge') && this.seen.length > 0) {
      // A message another replica sent, passed on as if it were someone else's.
      const bytes = this.prng.pick(this.seen)
      const forged = this.forgeSender(bytes)
      if (forged !== null) out.push({ type: 'send', to: this.randomPeer(), bytes: forged })
    }
    void now
    return out
  }

  private run (replica: SimReplica, isShadow: boolean, input: { start?: true, event?: ReplicaEvent }, now: number): Effect[] {
    const out: Effect[] = []
    const app = isShadow ? this.shadowApp : this.mainApp
    const queue: ReplicaEvent[] = []
    let effects = input.start === true ? replica.start(now) : replica.step(input.event!, now)
    for (;;) {
      for (const e of effects) {
        switch (e.type) {
          case 'send':
            out.push(...this.outgoing(e.to, e.bytes, isShadow))
            break
          case 'setTimer':
            out.push({ type: 'setTimer', id: isShadow ? SHADOW + e.id : e.id, delayMs: e.delayMs })
            break
          case 'cancelTimer':
            out.push({ type: 'cancelTimer', id: isShadow ? SHADOW + e.id : e.id })
            break
          case 'execute':
            try {
              const b = app.execute(e)
              queue.push({ type: 'executed', seq: e.seq, blockHash: b.blockHash, stateRoot: b.stateRoot })
            } catch { /* a Byzantine replica's own history is not checked */ }
            break
          default:
            break
        }
      }
      const next = queue.shift()
      if (next === undefined) break
      effects = replica.step(next, now)
    }
    return out
  }

  private outgoing (to: number | 'all', bytes: Uint8Array, isShadow: boolean): Effect[] {
    const targets = to === 'all' ? Array.from({ length: this.n }, (_, i) => i).filter(i => i !== this.id) : [to]
    const out: Effect[] = []
    for (const t of targets) {
      if (this.shadow !== null && this.sideB.has(t) !== isShadow) continue
      if (this.shadow !== null && isShadow) this.stats.equivocations++
      out.push({ type: 'send', to: t, bytes: this.mutate(bytes) })
      if (this.behaviours.has('forge') && this.prng.chance(0.05)) {
        out.push({ type: 'send', to: t, bytes: this.corrupt(bytes) })
      }
    }
    return out
  }

  /** Own outgoing message, possibly lied about for this one recipient. */
  private mutate (bytes: Uint8Array): Uint8Array {
    const b = this.behaviours
    if (!b.has('future-view') && !b.has('forge') && !b.has('conflicting-votes') && !b.has('equivocate')) return bytes
    const opened = this.tools.open(bytes)
    if (opened === null) return bytes
    const body = opened.body
    if (b.has('equivocate') && body.kind === 'pre-prepare' && this.prng.chance(0.3)) {
      // Another batch for the same (view, seq): some requests dropped, reordered, or made up.
      const reqs = [...body.payload.requests]
      const choice = this.prng.int(0, 2)
      const alt = choice === 0
        ? reqs.slice(0, Math.floor(reqs.length / 2))
        : choice === 1 ? reqs.reverse() : [...reqs, RequestFactory.forge(this.prng.int(0, 1000), this.prng.bytes(32))]
      const re = this.tools.rebatch(body, alt, this.crypto)
      if (re !== null) { this.stats.equivocations++; return this.tools.seal(re, this.crypto) }
    }
    if (b.has('conflicting-votes') && (body.kind === 'prepare' || body.kind === 'commit') && this.prng.chance(0.3)) {
      this.stats.echoedVotes++
      return this.tools.seal({ ...body, payload: { ...body.payload, digest: this.prng.bytes(32) } }, this.crypto)
    }
    if (b.has('future-view') && this.prng.chance(0.1)) {
      this.stats.futureViews++
      return this.tools.seal(this.tools.bumpView(body, this.prng.int(1, 50)), this.crypto)
    }
    if (b.has('forge') && this.prng.chance(0.05)) {
      const bad = this.tools.withSignature(bytes, this.prng.bytes(64))
      if (bad !== null) { this.stats.forged++; return bad }
    }
    return bytes
  }

  /** Votes for exactly what the sender voted for, to the sender, under our own name. */
  private echo (from: number, bytes: Uint8Array): Effect[] {
    const opened = this.tools.open(bytes)
    if (opened === null || opened.sender !== from) return []
    const kind = opened.body.kind
    // Echoing prepares (as prepare + commit) is enough to hand every replica a quorum for what it voted.
    if (kind !== 'prepare' && kind !== 'pre-prepare') return []
    let body = opened.body
    if (body.kind === 'pre-prepare') {
      // A pre-prepare is answered with a prepare for it, whatever we think of it.
      const p = body.payload
      body = { chainId: body.chainId, from: this.id, kind: 'prepare', payload: { view: p.view, seq: p.seq, digest: p.digest } }
    }
    this.stats.echoedVotes++
    const mine = { ...body, from: this.id } as typeof body
    const out: Effect[] = [{ type: 'send', to: from, bytes: this.tools.seal(mine, this.crypto) }]
    if (mine.kind === 'prepare') {
      out.push({ type: 'send', to: from, bytes: this.tools.seal({ ...mine, kind: 'commit' }, this.crypto) })
    }
    return out
  }

  private forgeSender (bytes: Uint8Array): Uint8Array | null {
    const opened = this.tools.open(bytes)
    if (opened === null) return null
    let victim = this.prng.int(0, this.n - 1)
    if (victim === this.id) victim = (victim + 1) % this.n
    this.stats.forged++
    // Signed with our own key in the victim's name: must fail the signature check.
    return this.tools.seal({ ...opened.body, from: victim }, this.crypto)
  }

  private corrupt (bytes: Uint8Array): Uint8Array {
    const copy = Uint8Array.from(bytes)
    for (let k = this.prng.int(1, 3); k > 0; k--) {
      const i = this.prng.int(0, copy.length - 1)
      copy[i] = copy[i]! ^ (1 << this.prng.int(0, 7))
    }
    this.stats.corrupted++
    return copy
  }

  private remember (bytes: Uint8Array): void {
    if (!this.behaviours.has('replay') && !this.behaviours.has('forge')) return
    if (this.seen.length < 256) this.seen.push(bytes)
    else this.seen[this.prng.int(0, 255)] = bytes
  }

  private randomPeer (): number {
    const p = this.prng.int(0, this.n - 2)
    return p >= this.id ? p + 1 : p
  }
}
