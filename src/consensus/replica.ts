import { bytesEqual, toHex } from '../codec/index.js'
import { errorMessage } from '../errors.js'
import { CheckpointTracker } from './checkpoints.js'
import {
  batchOf, checkStableProof, checkViewChange, digestMatches, matchesPlan, planNewView, primaryOf,
  type Batch, type Ctx, type NewViewPlan, type PreparedProof, type Quorums, type ViewChangeInfo
} from './evidence.js'
import {
  batchDigest, openMessage, signMessage, type CheckpointBody, type CommitBody, type MessageBody,
  type NewViewBody, type PrePrepare, type PrePrepareBody, type PrepareBody, type StableProof, type ViewChangeBody
} from './messages.js'
import { RequestPool } from './requests.js'
import { slotOf, type SeqEntry, type Slot, type Vote } from './slots.js'
import { restoreState } from './restore.js'
import {
  checkpointSignBytes, faultTolerance,
  type ClientRequest, type ConsensusCrypto, type PersistRecord, type ReplicaConfig, type ReplicaEffect, type ReplicaEvent, type ReplicaId, type ReplicaStatus, type ViewChangeReason
} from './types.js'
import {
  checkpointRecord, commitRecord, newViewRecord, prePrepareRecord, prepareRecord, stableRecord, viewChangeRecord
} from './wal.js'

export interface ReplicaOptions {
  /** Pure predicate: is this request acceptable (signature valid, decodes)? Backups refuse pre-prepares with invalid requests. Default: all valid. */
  isValidRequest?: (r: ClientRequest) => boolean
  /**
   * Hint: a fresh batch's requests are about to go through isValidRequest one by one, so a node
   * can check their signatures together first (batch verification). Must not change what
   * isValidRequest answers, nor call back into the replica. Default: none.
   */
  prevalidateRequests?: (requests: readonly ClientRequest[]) => void
  /**
   * Observer: this backup accepted a primary's fresh batch (every check passed; its PREPARE
   * follows). Lets the node tell requests it met in a batch it voted for from requests of a
   * batch it refused. Must not call back into the replica. Default: none.
   */
  onBatchAccepted?: (requests: readonly ClientRequest[]) => void
  /** Recovery: the records this replica persisted before a crash (in order) and the last block the driver executed durably. */
  restore?: { records: PersistRecord[], lastExecuted: { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array } }
  /** TEST-ONLY deliberately broken variants so the simulator can prove it catches bugs. */
  bug?: 'weak-quorum' | 'commit-without-prepare' | 'drop-prepared-in-view-change'
}

export type { ReplicaStatus } from './types.js'

/** Votes for a view this far above the current one are held back; anything further is refused. */
const MAX_VIEW_AHEAD = 4
/** Exponential backoff stops doubling here (base * 2^16). */
const MAX_BACKOFF_EXPONENT = 16

type TimerKind = 'batch' | 'vc' | 'sync'

const GENESIS_PROOF: StableProof = { seq: 0, blockHash: new Uint8Array(0), stateRoot: new Uint8Array(0), signatures: [] }

/**
 * PBFT replica (Castro & Liskov, with signatures) as a pure, deterministic state machine:
 * `step(event, now)` mutates the replica and returns the effects the driver must carry out,
 * in order. No clock, randomness or I/O inside. docs/consensus.md has the rules.
 */
export class Replica {
  private readonly config: ReplicaConfig
  private readonly crypto: ConsensusCrypto
  private readonly isValidRequest: (r: ClientRequest) => boolean
  private readonly prevalidateRequests: ((requests: readonly ClientRequest[]) => void) | undefined
  private readonly onBatchAccepted: ((requests: readonly ClientRequest[]) => void) | undefined
  private readonly bug: ReplicaOptions['bug']
  private readonly self: ReplicaId
  private readonly n: number
  private readonly q: Quorums
  private readonly ctx: Ctx
  private readonly L: number
  private readonly K: number

  private _view = 0
  private _inViewChange = false
  /** The view this replica is moving to; equals the view when not in a view change. */
  private target = 0
  /** Consecutive view changes without executing anything: the backoff exponent. */
  private vcAttempts = 0
  private low = 0
  private stableProof: StableProof = GENESIS_PROOF
  private _lastExecuted = 0
  /** Timestamp of the last executed batch; undefined after a restart or a block sync. */
  private lastExecutedTimestamp: number | undefined = undefined
  private executing: number | null = null
  private nextSeq = 1
  private lastProposedTimestamp = 0
  private readonly log = new Map<number, SeqEntry>()
  private readonly pool: RequestPool
  private readonly checkpoints: CheckpointTracker
  /** Latest (highest new view) valid VIEW-CHANGE from each replica, this one included. */
  private readonly viewChanges = new Map<ReplicaId, ViewChangeInfo>()
  private ownViewChangeWire: Uint8Array | undefined = undefined
  /** The NEW-VIEW that installed the current view: relayed to replicas still sending in older views. */
  private newViewWire: Uint8Array | undefined = undefined
  private readonly relayedNewView = new Map<ReplicaId, { view: number, at: number }>()
  /** Per replica, the highest view of a valid normal-case message it sent us: evidence the view moved. */
  private readonly seenView = new Map<ReplicaId, number>()
  private readonly forwardedAt = new Map<ReplicaId, number>()
  private lastCheckpointWire: Uint8Array | undefined = undefined
  private readonly restored: boolean
  /** The block the driver had executed durably before the restart (seq 0 = genesis). */
  private restoredExecuted: { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array } | undefined = undefined
  /** seq of lastCheckpointWire. */
  private lastCheckpointSeq = -1
  /** Messages slightly ahead (next view, or just above the high watermark), replayed when the replica catches up. */
  private deferred: Array<{ from: ReplicaId, bytes: Uint8Array }> = []
  /** COMMIT wires accepted without their envelope signature checked (openMessage): check before forwarding. */
  private readonly uncheckedCommits = new WeakSet<Uint8Array>()
  private replayDeferred = false
  private readonly maxDeferred: number
  private lastNeedSync = 0
  private syncArmedAt = 0
  /**
   * After a restart: the others that sent us a checkpoint since (they know we are back and
   * we know where they are), and how many status pings went out unanswered.
   */
  private readonly heardSinceRestart = new Set<ReplicaId>()
  private restartPings = 0
  private readonly timers: Record<TimerKind, number | null> = { batch: null, vc: null, sync: null }
  /** The batch timer fired but maxInFlightBatches held the partial batch back. */
  private batchDue = false
  /** Local time of this replica's last proposal (minBlockIntervalMs counts from it). */
  private lastProposedAt = Number.NEGATIVE_INFINITY
  private timerGen = 0
  private fx: ReplicaEffect[] = []
  private now = 0

  constructor (config: ReplicaConfig, crypto: ConsensusCrypto, options: ReplicaOptions = {}) {
    this.config = config
    this.crypto = crypto
    this.isValidRequest = options.isValidRequest ?? (() => true)
    this.prevalidateRequests = options.prevalidateRequests
    this.onBatchAccepted = options.onBatchAccepted
    this.bug = options.bug
    this.self = config.self
    this.n = config.validators.length
    const ft = faultTolerance(this.n)
    const weak = this.bug === 'weak-quorum'
    this.q = { n: this.n, f: ft.f, quorum: ft.quorum, prepares: weak ? ft.f : 2 * ft.f, commits: weak ? ft.f + 1 : ft.quorum }
    this.ctx = { config, crypto, q: this.q }
    this.L = config.windowSize
    this.K = config.checkpointInterval
    this.pool = new RequestPool(4 * this.L + 64)
    this.checkpoints = new CheckpointTracker(this.n, this.q.quorum)
    this.maxDeferred = 4 * this.n * (this.L + 1)
    this.restored = options.restore !== undefined
    if (options.restore !== undefined) this.restore(options.restore)
  }

  get view (): number { return this._view }
  get primary (): ReplicaId { return primaryOf(this._view, this.n) }
  get lastExecuted (): number { return this._lastExecuted }
  get lowWatermark (): number { return this.low }

  status (): ReplicaStatus {
    return {
      view: this._view,
      primary: this.primary,
      lastExecuted: this._lastExecuted,
      lowWatermark: this.low,
      inViewChange: this._inViewChange,
      pendingRequests: this.pool.pendingCount,
      targetView: this._inViewChange ? this.target : this._view,
      decided: this.highestDecided(),
      executing: this.executing,
      nextSeq: this.nextSeq
    }
  }

  /** Arms timers; after a restart re-announces an unfinished view change. */
  start (now: number): ReplicaEffect[] {
    return this.guard(this.self, now, () => {
      // After a restart we may have missed blocks that nobody will resend unasked.
      if (this.restored) this.announceRestart()
      if (this._inViewChange) {
        if (this.ownViewChangeWire !== undefined) this.fx.push({ type: 'send', to: 'all', bytes: this.ownViewChangeWire })
        this.armTimer('vc', this.backoff())
      } else if (this._view > 0) {
        this.fx.push({ type: 'viewChanged', view: this._view, primary: this.primary })
      }
    })
  }

  /** Never throws: an unexpected exception becomes a `rejected` effect, keeping the effects produced so far. */
  step (event: ReplicaEvent, now: number): ReplicaEffect[] {
    const from = isObject(event) && event.type === 'message' && Number.isSafeInteger(event.from) ? event.from : this.self
    return this.guard(from, now, () => { this.handle(event) })
  }

  private guard (from: ReplicaId, now: number, fn: () => void): ReplicaEffect[] {
    this.fx = []
    if (Number.isFinite(now)) this.now = now
    const executedBefore = this._lastExecuted
    try {
      fn()
      this.afterStep(executedBefore)
    } catch (err) {
      this.fx.push({ type: 'rejected', from, reason: `internal: ${errorMessage(err)}` })
    }
    const out = this.fx
    this.fx = []
    return out
  }

  private handle (event: ReplicaEvent): void {
    if (!isObject(event)) { this.reject(this.self, 'invalid: event is not an object'); return }
    switch (event.type) {
      case 'message':
        if (!(event.bytes instanceof Uint8Array)) { this.reject(event.from, 'invalid: message bytes are not a byte array'); return }
        this.onMessage(event.from, event.bytes)
        return
      case 'request':
        if (!isObject(event.request) || !(event.request.id instanceof Uint8Array) || !(event.request.bytes instanceof Uint8Array)) {
          this.reject(this.self, 'invalid: request event without id/bytes byte arrays')
          return
        }
        this.onRequest(event.request)
        return
      case 'timer':
        if (typeof event.id === 'string') this.onTimer(event.id)
        return
      case 'executed':
      case 'synced':
        if (!isSeq(event.seq) || !(event.blockHash instanceof Uint8Array) || !(event.stateRoot instanceof Uint8Array)) {
          this.reject(this.self, `invalid: ${event.type} event needs a seq and blockHash/stateRoot byte arrays`)
          return
        }
        if (event.type === 'executed') this.onExecuted(event.seq, event.blockHash, event.stateRoot, event.retryable)
        else this.onSynced(event.seq, event.blockHash, event.stateRoot, event.signatures)
        return
      default:
        this.reject(this.self, `invalid: unknown event type ${String((event as { type?: unknown }).type)}`)
    }
  }

  private afterStep (executedBefore: number): void {
    for (let i = 0; this.replayDeferred && i < 8; i++) {
      this.replayDeferred = false
      const list = this.deferred
      this.deferred = []
      for (const d of list) this.onMessage(d.from, d.bytes)
    }
    this.tryPropose(false)
    this.updateViewChangeTimer(this._lastExecuted > executedBefore)
    this.checkBehind()
  }

  // ---------------------------------------------------------------- messages

  private onMessage (transportFrom: ReplicaId, bytes: Uint8Array): void {
    const opened = openMessage(bytes, this.config, this.crypto, transportFrom)
    if ('error' in opened) { this.reject(transportFrom, `invalid: ${opened.error}`); return }
    if (opened.envelopeUnchecked === true) this.uncheckedCommits.add(bytes)
    // Our own votes are recorded when signed; copies coming back carry nothing new.
    if (opened.from === this.self) return
    const body: MessageBody = opened.body
    switch (body.kind) {
      case 'pre-prepare': this.onPrePrepare(body, bytes); return
      case 'prepare': case 'commit': this.onVote(body, bytes); return
      case 'checkpoint': this.onCheckpoint(body); return
      case 'view-change': this.onViewChange(body, bytes); return
      case 'new-view': this.onNewView(body, bytes)
    }
  }

  /**
   * Shared admission for normal-case messages: stale views and seqs are refused, those just
   * ahead (next view while changing view, or just above the high watermark) are deferred.
   * True when the message was handled here.
   */
  private deferOrReject (from: ReplicaId, what: string, view: number, seq: number, bytes: Uint8Array, onStale?: () => void): boolean {
    const active = this._inViewChange ? this.target : this._view
    if (view < active) {
      this.reject(from, `stale: ${what} for view ${view}, replica is at view ${active}`)
      onStale?.()
      this.relayNewView(from)
      this.forwardDecided(from, this.checkpoints.claimedByReplica(from))
      return true
    }
    if (view > active && view > (this.seenView.get(from) ?? 0)) {
      this.seenView.set(from, view)
      this.checkJoin()
    }
    if (view > active + MAX_VIEW_AHEAD) { this.reject(from, `ahead: ${what}, replica is at view ${active}`); return true }
    if (seq <= this.low) { this.reject(from, `stale: ${what} below the low watermark ${this.low}`); return true }
    if (seq > this.low + 2 * this.L) { this.reject(from, `ahead: ${what} above the window (${this.low}, ${this.low + this.L}]`); return true }
    if (view > this._view || this._inViewChange || seq > this.low + this.L) {
      this.deferred.push({ from, bytes })
      if (this.deferred.length > this.maxDeferred) this.deferred.shift()
      return true
    }
    return false
  }

  private onPrePrepare (body: PrePrepareBody, wire: Uint8Array): void {
    const p = body.payload
    const from = body.from
    const what = `pre-prepare (view ${p.view}, seq ${p.seq})`
    if (from !== primaryOf(p.view, this.n)) { this.reject(from, `invalid: ${what} from ${from}, not the primary ${primaryOf(p.view, this.n)}`); return }
    const late = (): void => { if (digestMatches(this.crypto, p)) this.noteLate(p.seq, p.view, batchOf(body, wire)) }
    if (this.deferOrReject(from, what, p.view, p.seq, wire, late)) return
    if (p.seq <= this._lastExecuted) { this.onRepeat(from, p.seq, `stale: ${what}, seq already executed`); return }
    const slot = this.slot(p.seq, p.view)
    if (slot.batch !== undefined) {
      if (bytesEqual(slot.batch.digest, p.digest)) { this.onRepeat(from, p.seq, `duplicate: ${what}`); return }
      this.reject(from, `equivocation: primary ${from} sent two different ${what}`)
      // We voted for the other one, but an equivocating primary may have had this one
      // committed by 2f+1 others (they forward it to us with its commits): keep it as
      // evidence, or this seq stays undecided here forever.
      late()
      return
    }
    const problem = this.checkFreshBatch(p)
    if (problem !== null) {
      this.reject(from, `invalid: ${what}: ${problem}`)
      // Not ours to vote for, but if 2f+1 others committed it, it is decided all the same.
      late()
      return
    }
    const batch = batchOf(body, wire)
    slot.batch = batch
    this.onBatchAccepted?.(p.requests)
    this.sendVote('prepare', slot, batch)
    if (this.bug === 'commit-without-prepare') this.sendVote('commit', slot, batch)
    this.checkProgress(p.seq, p.view)
  }

  /** Backup-side checks of a primary's new batch. */
  private checkFreshBatch (p: PrePrepare): string | null {
    if (p.originView !== p.view || p.proposer !== primaryOf(p.view, this.n)) return `origin (${p.originView}, ${p.proposer}) must be the current view and primary`
    if (!digestMatches(this.crypto, p)) return 'digest does not match the batch'
    if (p.requests.length > this.config.maxBatchSize) return `${p.requests.length} requests exceed maxBatchSize ${this.config.maxBatchSize}`
    let bytes = 0
    const ids = new Set<string>()
    try {
      this.prevalidateRequests?.(p.requests)
    } catch { /* a hint: isValidRequest below judges each request either way */ }
    for (const r of p.requests) {
      bytes += r.bytes.length + r.id.length
      const id = toHex(r.id)
      if (ids.has(id)) return `request ${id.slice(0, 16)} appears twice`
      ids.add(id)
      if (!this.isValidRequest(r)) return `request ${id.slice(0, 16)} is invalid`
    }
    if (p.requests.length > 1 && bytes > this.config.maxBatchBytes) return `${bytes} bytes exceed maxBatchBytes ${this.config.maxBatchBytes}`
    if (Math.abs(p.timestamp - this.now) > this.config.maxClockSkewMs) {
      return `timestamp ${p.timestamp} is ${p.timestamp - this.now} ms from local time (max skew ${this.config.maxClockSkewMs})`
    }
    const prev = this.timestampAt(p.seq - 1)
    if (prev !== undefined && p.timestamp <= prev) return `timestamp ${p.timestamp} is not after ${prev} of seq ${p.seq - 1}`
    const next = this.timestampAt(p.seq + 1)
    if (next !== undefined && p.timestamp >= next) return `timestamp ${p.timestamp} is not before ${next} of seq ${p.seq + 1}`
    return null
  }

  private timestampAt (seq: number): number | undefined {
    if (seq === this._lastExecuted && this.lastExecutedTimestamp !== undefined) return this.lastExecutedTimestamp
    const e = this.log.get(seq)
    return e?.decided?.timestamp ?? e?.slots.get(this._view)?.batch?.timestamp
  }

  private onVote (body: PrepareBody | CommitBody, wire: Uint8Array): void {
    const p = body.payload
    const from = body.from
    const what = `${body.kind} (view ${p.view}, seq ${p.seq})`
    if (body.kind === 'prepare' && from === primaryOf(p.view, this.n)) { this.reject(from, `invalid: ${what} from the primary`); return }
    const late = body.kind === 'commit' ? () => { this.noteLate(p.seq, p.view, undefined, from, { digest: p.digest, wire }) } : undefined
    if (this.deferOrReject(from, what, p.view, p.seq, wire, late)) return
    const slot = this.slot(p.seq, p.view)
    const votes = body.kind === 'prepare' ? slot.prepares : slot.commits
    const prev = votes.get(from)
    if (prev !== undefined) {
      if (bytesEqual(prev.digest, p.digest)) { this.onRepeat(from, p.seq, `duplicate: ${what}`); return }
      this.reject(from, `equivocation: ${from} sent two different ${what}`)
      if (!this.preferVote(prev.digest, p.digest, slot.batch ?? this.log.get(p.seq)?.late?.get(p.view)?.batch)) {
        // Still a valid signed commit: kept with the evidence, it may complete the commit proof
        // of a batch held there (the one an equivocating primary had the others commit).
        late?.()
        return
      }
    }
    votes.set(from, { digest: p.digest, wire })
    this.checkProgress(p.seq, p.view)
    // Commits for a batch other than the one we accepted may decide a batch held as evidence.
    if (body.kind === 'commit' && (slot.batch === undefined || !bytesEqual(slot.batch.digest, p.digest))) this.tryDecideLate(p.seq, p.view)
  }

  /**
   * A message we already have, again: a retransmission or a replay. If it is about a seq we
   * decided, the sender is stuck below it (see onSyncTimer): send it the commit proofs.
   */
  private onRepeat (from: ReplicaId, seq: number, reason: string): void {
    this.reject(from, reason)
    if (this.log.get(seq)?.decided !== undefined || seq <= this._lastExecuted) this.forwardDecided(from, seq - 1)
  }

  /** Keeps evidence from a view we cannot vote in (keepLate) and decides the seq if it now can. */
  private noteLate (seq: number, view: number, batch?: Batch, from?: ReplicaId, vote?: { digest: Uint8Array, wire: Uint8Array }): void {
    if (this.keepLate(seq, view, batch, from, vote)) this.tryDecideLate(seq, view)
  }

  /** Keeps evidence from a view we cannot vote in; bounded to 4 views per seq inside the window. False when not kept. */
  private keepLate (seq: number, view: number, batch?: Batch, from?: ReplicaId, vote?: { digest: Uint8Array, wire: Uint8Array }): boolean {
    if (seq <= this._lastExecuted || seq <= this.low || seq > this.low + this.L) return false
    let entry = this.log.get(seq)
    if (entry === undefined) { entry = { slots: new Map() }; this.log.set(seq, entry) }
    if (entry.decided !== undefined) return false
    entry.late ??= new Map()
    let ev = entry.late.get(view)
    if (ev === undefined) {
      if (entry.late.size >= 4) {
        const oldest = Math.min(...entry.late.keys())
        if (oldest > view) return false
        entry.late.delete(oldest)
      }
      ev = { commits: new Map() }
      entry.late.set(view, ev)
    }
    // One batch is kept per (seq, view). A Byzantine primary can sign many (equivocation,
    // rebatched copies), and the first to arrive is not necessarily the one 2f+1 replicas
    // committed: a batch replaces the held one unless fewer commits support it. The newest
    // wins a tie because the committed batch reaches a stuck replica as a forwarded proof,
    // its pre-prepare just before its commits. Once 2f+1 commits support a batch it decides
    // at once, and a batch with fewer commits can no longer displace it before that.
    if (batch !== undefined && (ev.batch === undefined || this.commitSupport(entry, view, batch.digest) >= this.commitSupport(entry, view, ev.batch.digest))) ev.batch = batch
    if (from !== undefined && vote !== undefined) {
      const prev = ev.commits.get(from)
      const known = ev.batch ?? entry.slots.get(view)?.batch
      if (prev === undefined || this.preferVote(prev.digest, vote.digest, known)) ev.commits.set(from, vote)
    }
    return true
  }

  /**
   * A sender equivocated: should its new vote replace the one we hold? Yes when only the new one
   * is for the batch we know. A Byzantine replica that reached us first with a vote for another
   * digest must not hide its vote for the real batch (the one the others forward to us), or a
   * slot that 2f+1 replicas committed can stay undecided here forever. Safe: a vote still counts
   * at most once per sender for a digest, and PBFT's quorum intersection already assumes faulty
   * replicas vote for both sides.
   */
  private preferVote (held: Uint8Array, offered: Uint8Array, batch: Batch | undefined): boolean {
    return batch !== undefined && bytesEqual(batch.digest, offered) && !bytesEqual(batch.digest, held)
  }

  /** Signed COMMITs of `view` for `digest` at this seq, one per sender (normal-case and late evidence). */
  private commitWires (entry: SeqEntry, view: number, digest: Uint8Array): Map<ReplicaId, Uint8Array> {
    const wires = new Map<ReplicaId, Uint8Array>()
    for (const src of [entry.slots.get(view)?.commits, entry.late?.get(view)?.commits]) {
      if (src === undefined) continue
      for (const [r, v] of src) if (bytesEqual(v.digest, digest)) wires.set(r, v.wire)
    }
    return wires
  }

  private commitSupport (entry: SeqEntry, view: number, digest: Uint8Array): number {
    return this.commitWires(entry, view, digest).size
  }

  /**
   * A signed pre-prepare of view u plus 2f+1 matching COMMITs of u: committed, whatever view
   * we are in, and whatever batch we ourselves accepted for (u, seq) (an equivocating primary
   * may have shown us another one).
   */
  private tryDecideLate (seq: number, view: number): void {
    const entry = this.log.get(seq)
    if (entry === undefined || entry.decided !== undefined) return
    for (const batch of [entry.late?.get(view)?.batch, entry.slots.get(view)?.batch]) {
      if (batch === undefined) continue
      const wires = this.commitWires(entry, view, batch.digest)
      if (wires.size < this.q.commits) continue
      entry.decidedCommits = [...wires.values()]
      this.decide(seq, entry, batch)
      return
    }
  }

  /**
   * True when `wire` may be shown to another replica: its envelope signature was checked on
   * receipt, or is checked now. A COMMIT taken on its channel's authentication (openMessage)
   * would otherwise reach a lagging replica unchecked, and one with a bad signature from a
   * Byzantine signer would make us look like its forger there.
   */
  private checkedForOthers (wire: Uint8Array): boolean {
    if (!this.uncheckedCommits.has(wire)) return true
    if ('error' in openMessage(wire, this.config, this.crypto)) return false
    this.uncheckedCommits.delete(wire)
    return true
  }

  /**
   * Hands a replica that shows it is behind (stale view, or asking to leave a view we work
   * in) the proofs of what we decided above `afterSeq`: each decided pre-prepare and the
   * COMMITs that decided it. There is no other retransmission; at most once per timeout.
   *
   * A pre-prepare is left out when `to` proposed it or voted for it: it holds the batch (votes
   * are persisted with it before they are sent). A replica that is only slow, not cut off,
   * asks too: one that has not executed for a timeout while others are ahead pings (statusPing),
   * and at 1M accounts, where a block takes a validator ~0.5 s, every backup was sent ~2 of
   * these ~130 KB pre-prepares per block again, each decrypted, decoded and dropped as a duplicate.
   * Its own COMMIT is left out for the same reason.
   */
  private forwardDecided (to: ReplicaId, afterSeq: number): void {
    if (to === this.self || to < 0 || to >= this.n) return
    const last = this.forwardedAt.get(to)
    if (last !== undefined && this.now - last < this.config.viewChangeTimeoutMs) return
    let sent = 0
    const at = this.fx.length
    for (const seq of [...this.log.keys()].sort((a, b) => a - b)) {
      if (seq <= afterSeq || sent >= this.L) continue
      const e = this.log.get(seq)!
      if (e.decided === undefined || e.decidedCommits === undefined) continue
      if (sent === 0) this.forwardedAt.set(to, this.now)
      const own = this.voteOf(to, e, e.decided)
      if (own === null) this.fx.push({ type: 'send', to, bytes: e.decided.wire })
      for (const w of e.decidedCommits) if (w !== own && this.checkedForOthers(w)) this.fx.push({ type: 'send', to, bytes: w })
      sent++
    }
    // A replica stuck at or below our stable checkpoint may hold that block but not its
    // certificate (its votes went by while it was down): then its window stays below the seqs
    // we just sent, and it would only defer them. Our own CHECKPOINT for it, sent again by each
    // replica that answers, completes the certificate there.
    if (sent > 0 && afterSeq <= this.low && this.low > 0) {
      const own = this.checkpoints.own(this.self, this.low)
      if (own !== undefined) {
        const payload = { seq: this.low, blockHash: own.blockHash, stateRoot: own.stateRoot, signature: own.signature }
        const wire = signMessage({ chainId: this.config.chainId, from: this.self, kind: 'checkpoint', payload }, this.crypto)
        this.fx.splice(at, 0, { type: 'send', to, bytes: wire })
      }
    }
  }

  /**
   * What shows that `r` holds `batch`: its COMMIT wire for it, or `true` for another sign (it
   * is the batch's primary, or it sent a PREPARE for it); null if nothing does.
   */
  private voteOf (r: ReplicaId, entry: SeqEntry, batch: Batch): Uint8Array | true | null {
    const forBatch = (v: Vote | undefined): boolean => v !== undefined && bytesEqual(v.digest, batch.digest)
    const slot = entry.slots.get(batch.view)
    const commit = slot?.commits.get(r) ?? entry.late?.get(batch.view)?.commits.get(r)
    if (commit !== undefined && forBatch(commit)) return commit.wire
    if (r === primaryOf(batch.view, this.n) || forBatch(slot?.prepares.get(r))) return true
    return null
  }

  /** Signs, records, persists and sends this replica's PREPARE or COMMIT for a slot (once). */
  private sendVote (kind: 'prepare' | 'commit', slot: Slot, batch: Batch, proof?: PreparedProof): void {
    const votes = kind === 'prepare' ? slot.prepares : slot.commits
    if (votes.has(this.self)) return
    const wire = signMessage({ chainId: this.config.chainId, from: this.self, kind, payload: { view: batch.view, seq: batch.seq, digest: batch.digest } }, this.crypto)
    votes.set(this.self, { digest: batch.digest, wire })
    const record = kind === 'prepare'
      ? prepareRecord(batch.seq, wire, batch.wire)
      : commitRecord(batch.seq, wire, batch.wire, proof?.prepares ?? [])
    this.fx.push({ type: 'persist', record }, { type: 'send', to: 'all', bytes: wire })
  }

  /** prepared = pre-prepare + 2f matching prepares from backups; committed-local = prepared + 2f+1 matching commits. */
  private checkProgress (seq: number, view: number): void {
    if (view !== this._view || this._inViewChange) return
    const entry = this.log.get(seq)
    const slot = entry?.slots.get(view)
    const batch = slot?.batch
    if (entry === undefined || slot === undefined || batch === undefined) return
    if (!slot.prepared) {
      const primary = primaryOf(view, this.n)
      const wires: Uint8Array[] = []
      for (const [r, v] of slot.prepares) if (r !== primary && bytesEqual(v.digest, batch.digest)) wires.push(v.wire)
      if (wires.length >= this.q.prepares) {
        slot.prepared = true
        const proof: PreparedProof = { batch, prepares: wires }
        if (entry.cert === undefined || entry.cert.batch.view <= view) entry.cert = proof
        this.sendVote('commit', slot, batch, proof)
      }
    }
    if (!slot.committed) {
      let count = 0
      for (const v of slot.commits.values()) if (bytesEqual(v.digest, batch.digest)) count++
      // 2f+1 commits prove the batch committed even if our own prepares were lost (a commit proof).
      const enough = count >= this.q.commits && (slot.prepared || this.bug === 'commit-without-prepare' || count >= this.q.quorum)
      if (enough) {
        slot.committed = true
        entry.decidedCommits = [...slot.commits.values()].filter(v => bytesEqual(v.digest, batch.digest)).map(v => v.wire)
        this.decide(seq, entry, batch)
      }
    }
  }

  private decide (seq: number, entry: SeqEntry, batch: Batch): void {
    if (entry.decided !== undefined) {
      if (!bytesEqual(entry.decided.digest, batch.digest)) {
        this.reject(this.self, `internal: seq ${seq} committed with two different batches`)
      }
      return
    }
    entry.decided = batch
    this.tryExecute()
  }

  private tryExecute (): void {
    if (this.executing !== null) return
    const seq = this._lastExecuted + 1
    const b = this.log.get(seq)?.decided
    if (b === undefined || seq <= this.low) return
    this.executing = seq
    this.fx.push({ type: 'execute', seq, view: b.originView, proposer: b.proposer, timestamp: b.timestamp, requests: b.requests })
  }

  // ---------------------------------------------------------------- requests and proposing

  private onRequest (r: ClientRequest): void {
    if (!this.isValidRequest(r)) { this.reject(this.self, `invalid: request ${toHex(r.id).slice(0, 16)} fails validation`); return }
    this.pool.add({ id: r.id, bytes: r.bytes })
  }

  private isPrimary (): boolean {
    return !this._inViewChange && primaryOf(this._view, this.n) === this.self
  }

  /**
   * Cuts batches while the window allows: full ones always, a partial one when the batch timer
   * fired (now or earlier, while maxInFlightBatches held it back).
   */
  private tryPropose (force: boolean): void {
    if (!this.isPrimary()) { this.cancelTimer('batch'); this.batchDue = false; return }
    // Behind its own stable checkpoint, this replica is syncing blocks it never executed; their
    // requests may still be in its pool (a new primary that lagged), and proposing them would
    // order them a second time, refused at execution but a wasted slot. onSynced clears the
    // pool and the node hands back what is still pending; then proposing resumes.
    if (this._lastExecuted < this.low) return
    const { maxBatchSize, maxBatchBytes, batchTimeoutMs } = this.config
    const maxInFlight = this.config.maxInFlightBatches ?? Number.POSITIVE_INFINITY
    // ms until the minimum block interval allows a partial batch (<= 0: it does now).
    const intervalLeft = (): number => this.lastProposedAt + (this.config.minBlockIntervalMs ?? 0) - this.now
    if (force) {
      // A timer armed before a full batch went out can fire inside the new interval: wait out the rest.
      const left = intervalLeft()
      if (left > 0) this.armTimer('batch', left)
      else this.batchDue = true
    }
    while (this.pool.unproposedCount > 0 && this.nextSeq <= this.low + this.L) {
      const full = this.pool.unproposedCount >= maxBatchSize || this.pool.unproposedBytes >= maxBatchBytes
      const inFlight = this.nextSeq - 1 - Math.max(this._lastExecuted, this.low)
      if (!full && !(this.batchDue && inFlight < maxInFlight)) break
      this.propose(this.pool.takeBatch(maxBatchSize, maxBatchBytes))
      this.batchDue = false
    }
    if (this.pool.unproposedCount === 0) this.batchDue = false
    if (this.pool.unproposedCount > 0 && this.nextSeq <= this.low + this.L && !this.batchDue) {
      if (this.timers.batch === null) this.armTimer('batch', Math.max(batchTimeoutMs, intervalLeft()))
    } else if (!this.batchDue) {
      this.cancelTimer('batch')
    }
  }

  private propose (requests: ClientRequest[]): void {
    const seq = this.nextSeq++
    const view = this._view
    const timestamp = Math.max(this.now, this.lastProposedTimestamp + 1, (this.lastExecutedTimestamp ?? -1) + 1)
    const digest = batchDigest(this.crypto, timestamp, view, this.self, requests.map(r => r.id))
    const body: PrePrepareBody = {
      chainId: this.config.chainId,
      from: this.self,
      kind: 'pre-prepare',
      payload: { view, seq, timestamp, originView: view, proposer: this.self, digest, requests }
    }
    const wire = signMessage(body, this.crypto)
    this.slot(seq, view).batch = batchOf(body, wire)
    this.lastProposedTimestamp = timestamp
    this.lastProposedAt = this.now
    this.fx.push({ type: 'persist', record: prePrepareRecord(seq, wire) }, { type: 'send', to: 'all', bytes: wire })
    this.checkProgress(seq, view)
  }

  // ---------------------------------------------------------------- execution and checkpoints

  private onExecuted (seq: number, blockHash: Uint8Array, stateRoot: Uint8Array, retryable: unknown): void {
    // A block the driver also obtained by sync: nothing left to do for it.
    if (seq <= this._lastExecuted && this.executing === null) return
    if (seq !== this.executing) {
      this.reject(this.self, `invalid: executed event for seq ${seq}, but the replica is executing ${this.executing ?? 'nothing'}`)
      return
    }
    const b = this.log.get(seq)?.decided
    this.executing = null
    this._lastExecuted = seq
    this.lastExecutedTimestamp = b?.timestamp
    this.vcAttempts = 0
    if (b !== undefined) {
      this.pool.markExecuted(seq, b.requests.map(r => r.id))
      // Only ids of this batch: the driver cannot lift the dedup of anything else.
      if (Array.isArray(retryable) && retryable.length > 0) {
        const inBatch = new Set(b.requests.map(r => toHex(r.id)))
        this.pool.forgetExecuted(retryable.filter((id): id is Uint8Array => id instanceof Uint8Array && inBatch.has(toHex(id))))
      }
    }
    this.signCheckpoint(seq, blockHash, stateRoot)
    this.tryExecute()
  }

  private signCheckpoint (seq: number, blockHash: Uint8Array, stateRoot: Uint8Array): void {
    const signature = this.crypto.sign(checkpointSignBytes(this.config.chainId, seq, blockHash, stateRoot))
    const wire = signMessage({ chainId: this.config.chainId, from: this.self, kind: 'checkpoint', payload: { seq, blockHash, stateRoot, signature } }, this.crypto)
    this.checkpoints.add(this.self, seq, { blockHash, stateRoot, signature }, seq > this.low - this.L && seq <= this.low + 2 * this.L)
    this.lastCheckpointWire = wire
    this.lastCheckpointSeq = seq
    this.fx.push({ type: 'persist', record: checkpointRecord(seq, wire) }, { type: 'send', to: 'all', bytes: wire })
    this.afterCheckpointVote(seq)
  }

  private onCheckpoint (body: CheckpointBody): void {
    const p = body.payload
    const from = body.from
    // Genesis needs no certificate: a seq-0 checkpoint only says "I have executed nothing" (announceRestart).
    if (p.seq === 0) { this.answerStuck(from, 0); return }
    if (p.seq <= this.low - this.L) {
      this.reject(from, `stale: checkpoint for seq ${p.seq}, low watermark is ${this.low}`)
      this.forwardDecided(from, p.seq)
      return
    }
    const store = p.seq <= this.low + 2 * this.L
    if (this.restored) this.heardSinceRestart.add(from)
    const r = this.checkpoints.add(from, p.seq, { blockHash: p.blockHash, stateRoot: p.stateRoot, signature: p.signature }, store)
    // A repeated checkpoint is a replica stuck at that seq asking for help (see statusPing).
    if (r === 'duplicate') { this.forwardDecided(from, p.seq); return }
    if (p.seq < this.low) this.forwardDecided(from, p.seq)
    if (r === 'equivocation') { this.reject(from, `equivocation: ${from} sent two different checkpoints for seq ${p.seq}`); return }
    if (store) this.afterCheckpointVote(p.seq)
  }

  private afterCheckpointVote (seq: number): void {
    const cert = this.checkpoints.newCertificate(seq)
    if (cert !== null) {
      this.fx.push({ type: 'certified', seq, blockHash: cert.blockHash, stateRoot: cert.stateRoot, signatures: cert.signatures })
      const own = this.checkpoints.own(this.self, seq)
      if (own !== undefined && (!bytesEqual(own.blockHash, cert.blockHash) || !bytesEqual(own.stateRoot, cert.stateRoot))) {
        this.reject(this.self, `internal: local block/state at seq ${seq} differs from the certified one`)
      }
    }
    this.tryStabilize()
  }

  /** The highest certificate at a multiple of K that this replica has executed and agrees with becomes stable. */
  private tryStabilize (): void {
    let best: StableProof | undefined
    for (const seq of this.checkpoints.certifiedSeqs()) {
      if (seq <= this.low || seq > this._lastExecuted || seq % this.K !== 0) continue
      const cert = this.checkpoints.certificate(seq)
      const own = this.checkpoints.own(this.self, seq)
      if (cert === undefined || own === undefined) continue
      if (!bytesEqual(own.blockHash, cert.blockHash) || !bytesEqual(own.stateRoot, cert.stateRoot)) continue
      if (best === undefined || seq > best.seq) best = cert
    }
    if (best !== undefined) this.stabilize(best)
  }

  private stabilize (proof: StableProof): void {
    this.low = proof.seq
    this.stableProof = proof
    this.fx.push({ type: 'persist', record: stableRecord(proof) }, { type: 'truncateLog', belowSeq: proof.seq })
    for (const seq of this.log.keys()) if (seq <= this.low) this.log.delete(seq)
    this.checkpoints.gc(this.low, this.L)
    if (this.nextSeq <= this.low) this.nextSeq = this.low + 1
    this.replayDeferred = this.deferred.length > 0
  }

  /**
   * f+1 replicas claiming a seq means at least one correct replica reached it. Far ahead:
   * ask for a block sync now; a little ahead: give normal progress one timeout first.
   */
  private checkBehind (): void {
    const claimed = this.checkpoints.claimedBy(this.q.f + 1, this.self)
    if (claimed > this._lastExecuted + this.L && claimed > this.lastNeedSync) {
      this.lastNeedSync = claimed
      this.fx.push({ type: 'needSync', seq: claimed })
      return
    }
    // A primary whose batches stay undecided is stalled too, and nothing else would make it
    // speak up: only backups run the view-change timer, and the others (in a later view it
    // missed, or idle because they executed everything) resend nothing unasked.
    const stalledPrimary = this.isPrimary() && this.nextSeq - 1 > this._lastExecuted
    // The restart announcement (start()) can be lost (a partition, a one-way cut): while
    // fewer than f+1 others have sent us a checkpoint since, nobody may know we are back
    // and an idle cluster would tell us nothing. Repeat it, backing off, until they answer.
    const unheard = this.restored && this.heardSinceRestart.size <= this.q.f
    if (claimed <= this._lastExecuted && !stalledPrimary && !unheard) { this.cancelTimer('sync'); return }
    if (this.timers.sync === null) {
      this.syncArmedAt = this._lastExecuted
      const onlyUnheard = claimed <= this._lastExecuted && !stalledPrimary
      this.armTimer('sync', this.config.viewChangeTimeoutMs * (onlyUnheard ? 2 ** Math.min(this.restartPings, 6) : 1))
    }
  }

  /**
   * 2f+1 other replicas claim checkpoints above what we executed: certified blocks we lack
   * (very likely) exist, so block sync can help. With only f+1 ahead it may not: the blocks
   * above may have too few executions for a certificate, and a view change must re-propose them.
   */
  private othersAhead (): boolean {
    return this.checkpoints.claimedBy(this.q.quorum, this.self) > this._lastExecuted
  }

  /**
   * f+1 replicas are ahead and we made no progress for a timeout. If 2f+1 are ahead a
   * certificate exists: block sync. Either way, repeat our latest CHECKPOINT: the others read a
   * repeated checkpoint as "stuck here" and answer with the commit proofs above it (the blocks
   * just above may lack a certificate because too few replicas executed them, us included).
   */
  private onSyncTimer (): void {
    if (this._lastExecuted !== this.syncArmedAt) return
    if (this.restored && this.heardSinceRestart.size <= this.q.f) this.restartPings++
    const claimed = this.checkpoints.claimedBy(this.q.quorum, this.self)
    if (claimed > this._lastExecuted) {
      this.lastNeedSync = Math.max(this.lastNeedSync, claimed)
      this.fx.push({ type: 'needSync', seq: claimed })
    }
    this.statusPing()
  }

  /**
   * After a restart: the status ping, from the block we really hold. A WAL that lost its
   * checkpoints (or never had one: nothing executed) would otherwise leave nothing to repeat,
   * and nobody resends decided seqs unasked. Re-signing the durably executed block's checkpoint
   * is deterministic (same bytes as before, so others read it as a repeat). A seq-0 (genesis)
   * checkpoint is persisted like any signed message but never counted: it certifies nothing.
   */
  private announceRestart (): void {
    const done = this.restoredExecuted
    if (done !== undefined && done.seq > 0 && this.lastCheckpointSeq < done.seq) this.signCheckpoint(done.seq, done.blockHash, done.stateRoot)
    else if (done !== undefined && done.seq === 0 && this.lastCheckpointWire === undefined) this.signGenesisCheckpoint(done.blockHash, done.stateRoot)
    // Sends the checkpoint (again, when just signed: only a repeat reads as "stuck here").
    this.statusPing()
  }

  /**
   * "I have executed nothing": a seq-0 checkpoint, which others answer with what they decided
   * (answerStuck) and never count towards a certificate. Persisted like every signed message.
   */
  private signGenesisCheckpoint (blockHash: Uint8Array, stateRoot: Uint8Array): void {
    const wire = signMessage({
      chainId: this.config.chainId,
      from: this.self,
      kind: 'checkpoint',
      payload: { seq: 0, blockHash, stateRoot, signature: this.crypto.sign(checkpointSignBytes(this.config.chainId, 0, blockHash, stateRoot)) }
    }, this.crypto)
    this.lastCheckpointWire = wire
    this.lastCheckpointSeq = 0
    this.fx.push({ type: 'persist', record: checkpointRecord(0, wire) })
  }

  /**
   * A replica told us it is stuck at `seq`: the commit proofs above it, and our latest
   * checkpoint (rate-limited with them) so it learns how far the others are.
   */
  private answerStuck (to: ReplicaId, seq: number): void {
    if (to === this.self || to < 0 || to >= this.n) return
    const last = this.forwardedAt.get(to)
    if (last !== undefined && this.now - last < this.config.viewChangeTimeoutMs) return
    this.forwardDecided(to, seq)
    this.forwardedAt.set(to, this.now)
    if (this.lastCheckpointWire !== undefined) this.fx.push({ type: 'send', to, bytes: this.lastCheckpointWire })
  }

  /** Repeats our latest checkpoint and our vote for the next seq: "this is where I am stuck". */
  private statusPing (): void {
    // Also repeat what we signed for the next seq: a repeated vote for a seq the others
    // decided reads the same way, and a stale view in it makes them relay their NEW-VIEW.
    const slot = this.log.get(this._lastExecuted + 1)?.slots.get(this._view)
    const own = slot?.commits.get(this.self)?.wire ?? slot?.prepares.get(this.self)?.wire ??
      (slot?.batch !== undefined && primaryOf(this._view, this.n) === this.self ? slot.batch.wire : undefined)
    // A replica that executed nothing and never saw the pre-prepare of seq 1 (a Byzantine
    // primary sent it a corrupt one) has neither to repeat and would never be heard: it says
    // "executed nothing" with a seq-0 checkpoint. The replica does not know the genesis
    // hashes (restarts get them from the driver); seq-0 checkpoints certify nothing, so
    // zeros stand in.
    if (this.lastCheckpointWire === undefined && this._lastExecuted === 0) this.signGenesisCheckpoint(new Uint8Array(32), new Uint8Array(32))
    if (this.lastCheckpointWire !== undefined) this.fx.push({ type: 'send', to: 'all', bytes: this.lastCheckpointWire })
    if (own !== undefined) this.fx.push({ type: 'send', to: 'all', bytes: own })
  }

  private onSynced (seq: number, blockHash: Uint8Array, stateRoot: Uint8Array, signatures: unknown): void {
    if (seq <= this._lastExecuted) return
    this._lastExecuted = seq
    this.lastExecutedTimestamp = undefined
    this.executing = null
    this.vcAttempts = 0
    // Prepared certificates above the new position stay: a VIEW-CHANGE may still need them.
    this.pool.clearPending(this.liveRequestIds())
    if (this.nextSeq <= seq) this.nextSeq = seq + 1
    let proof: StableProof | undefined
    if (Array.isArray(signatures)) {
      const candidate = { seq, blockHash, stateRoot, signatures: signatures as StableProof['signatures'] }
      if (signatures.every(s => isObject(s) && Number.isSafeInteger(s.replica) && s.signature instanceof Uint8Array) &&
        checkStableProof(this.ctx, candidate) === null) proof = candidate
    }
    if (proof === undefined) {
      const c = this.checkpoints.certificate(seq)
      if (c !== undefined && bytesEqual(c.blockHash, blockHash) && bytesEqual(c.stateRoot, stateRoot)) proof = c
    }
    if (proof !== undefined && proof.seq > this.low) this.stabilize(proof)
    // The driver checked this block's certificate, so we hold that state now: say so. It tells
    // the others where we are (they answer a repeat of it with what we still miss) and helps
    // complete certificates. We never execute seq ourselves, so this cannot conflict.
    this.signCheckpoint(seq, blockHash, stateRoot)
    this.tryStabilize()
    this.tryExecute()
  }

  // ---------------------------------------------------------------- view change

  private backoff (): number {
    return this.config.viewChangeTimeoutMs * 2 ** Math.min(this.vcAttempts, MAX_BACKOFF_EXPONENT)
  }

  /** Backups run the timer while they know of unexecuted requests or an uncommitted batch; progress restarts it. */
  private updateViewChangeTimer (progressed: boolean): void {
    if (this._inViewChange) return
    const needed = primaryOf(this._view, this.n) !== this.self && (this.pool.pendingCount > 0 || this.hasUndecidedBatch())
    if (!needed) { this.cancelTimer('vc'); return }
    if (this.timers.vc === null || progressed) this.armTimer('vc', this.backoff())
  }

  private highestDecided (): number {
    let high = this._lastExecuted
    for (const [seq, e] of this.log) if (seq > high && e.decided !== undefined) high = seq
    return high
  }

  private hasUndecidedBatch (): boolean {
    for (const [seq, e] of this.log) {
      if (seq > this._lastExecuted && e.decided === undefined && e.slots.get(this._view)?.batch !== undefined) return true
    }
    return false
  }

  private onViewChangeTimer (): void {
    if (!this._inViewChange) {
      if (this.othersAhead()) {
        // The cluster is making progress without us: the fault is ours, not the primary's.
        // Catch up by block sync instead of starting a view change we would be alone in.
        const claimed = this.checkpoints.claimedBy(this.q.quorum, this.self)
        this.lastNeedSync = Math.max(this.lastNeedSync, claimed)
        this.fx.push({ type: 'needSync', seq: claimed })
        this.armTimer('vc', this.backoff())
        return
      }
      if (this.log.get(this._lastExecuted + 1)?.decided !== undefined) {
        // The next batch is committed and waits for our own execution: the view is working and
        // it is we who are slow (at 1M accounts saturated validators took seconds per block and
        // voted the primary out for it; a new primary would not execute faster). Every executed
        // block re-arms the timer, so a primary that stops proposing is still suspected one
        // timeout after our execution caught up. Not counted: a decided batch above a gap (the
        // gap may need a view change to fill), nor a window full of executed batches (our low
        // watermark may be stale from missed checkpoints, and the view change repairs that).
        this.armTimer('vc', this.backoff())
        return
      }
      this.startViewChange(this._view + 1, 'timeout')
      return
    }
    // PBFT moves on to the next view only once 2f+1 replicas asked for this one (so a replica
    // cut off from the others does not run ahead alone); until then it repeats its request,
    // which also repairs lost VIEW-CHANGEs.
    // A replica whose latest VIEW-CHANGE is for a higher view has given up on the target too.
    let forTarget = 0
    for (const vc of this.viewChanges.values()) if (vc.newView >= this.target) forTarget++
    if (forTarget >= this.q.quorum) { this.startViewChange(this.target + 1, 'escalated'); return }
    if (this.ownViewChangeWire !== undefined) this.fx.push({ type: 'send', to: 'all', bytes: this.ownViewChangeWire })
    this.armTimer('vc', this.backoff())
  }

  private startViewChange (newView: number, reason: ViewChangeReason): void {
    const current = this._inViewChange ? this.target : this._view
    if (newView <= current) return
    this.fx.push({ type: 'viewChangeStarted', newView, reason, status: this.status() })
    this._inViewChange = true
    this.target = newView
    this.vcAttempts++
    this.cancelTimer('batch')
    const prepared = this.bug === 'drop-prepared-in-view-change'
      ? []
      : [...this.log.entries()]
          .filter(([seq, e]) => seq > this.low && e.cert !== undefined)
          .sort((a, b) => a[0] - b[0])
          .map(([, e]) => ({ prePrepare: e.cert!.batch.wire, prepares: e.cert!.prepares }))
    const body: ViewChangeBody = {
      chainId: this.config.chainId, from: this.self, kind: 'view-change', payload: { newView, stable: this.stableProof, prepared }
    }
    const wire = signMessage(body, this.crypto)
    this.ownViewChangeWire = wire
    const certs = new Map<number, PreparedProof>()
    if (this.bug !== 'drop-prepared-in-view-change') {
      for (const [seq, e] of this.log) if (seq > this.low && e.cert !== undefined) certs.set(seq, e.cert)
    }
    this.viewChanges.set(this.self, { from: this.self, newView, stable: this.stableProof, prepared: certs, wire })
    this.fx.push({ type: 'persist', record: viewChangeRecord(wire) }, { type: 'send', to: 'all', bytes: wire })
    this.armTimer('vc', this.backoff())
    this.tryNewView()
  }

  private onViewChange (body: ViewChangeBody, wire: Uint8Array): void {
    const p = body.payload
    const from = body.from
    if (p.newView <= this._view) {
      this.reject(from, `stale: view-change to ${p.newView}, replica is at view ${this._view}`)
      this.relayNewView(from)
      return
    }
    const prev = this.viewChanges.get(from)
    if (prev !== undefined && prev.newView >= p.newView) {
      // Retransmissions are part of the protocol; only a different one for the same view is news.
      // A repeat still says the sender is stuck: the proofs we gave it at the first copy may have
      // been lost (e.g. a partition that cut only our direction), so offer them again.
      if (prev.newView === p.newView && bytesEqual(prev.wire, wire)) {
        this.forwardDecided(from, Math.max(p.stable.seq, this.checkpoints.claimedByReplica(from)))
        return
      }
      this.reject(from, prev.newView === p.newView ? `duplicate: another view-change to ${p.newView}` : `stale: view-change to ${p.newView} after one to ${prev.newView}`)
      return
    }
    const r = checkViewChange(this.ctx, wire)
    if ('error' in r) { this.reject(from, `invalid: ${r.error}`); return }
    this.viewChanges.set(from, r.ok)
    // It may only be missing what we decided: give it the proofs.
    this.forwardDecided(from, Math.max(p.stable.seq, this.checkpoints.claimedByReplica(from)))
    this.checkJoin()
    this.tryNewView()
  }

  /**
   * A replica that missed a NEW-VIEW stays in its old view (there is no retransmission); any
   * replica that hears it there hands it the self-authenticating NEW-VIEW (at most once per
   * timeout per replica, since the relay itself may be lost).
   */
  private relayNewView (to: ReplicaId): void {
    if (this._inViewChange || this.newViewWire === undefined) return
    const last = this.relayedNewView.get(to)
    if (last !== undefined && last.view === this._view && this.now - last.at < this.config.viewChangeTimeoutMs) return
    this.relayedNewView.set(to, { view: this._view, at: this.now })
    this.fx.push({ type: 'send', to, bytes: this.newViewWire })
  }

  /**
   * f+1 replicas asking for (or already working in) views above ours include a correct one:
   * join the smallest such view. Joining a view the others already installed makes them
   * relay its NEW-VIEW to us.
   */
  private checkJoin (): void {
    const current = this._inViewChange ? this.target : this._view
    const higher: number[] = []
    for (let r = 0; r < this.n; r++) {
      if (r === this.self) continue
      const v = Math.max(this.viewChanges.get(r)?.newView ?? 0, this.seenView.get(r) ?? 0)
      if (v > current) higher.push(v)
    }
    if (higher.length >= this.q.f + 1) this.startViewChange(Math.min(...higher), 'joined')
  }

  private tryNewView (): void {
    if (!this._inViewChange || primaryOf(this.target, this.n) !== this.self) return
    const view = this.target
    const vcs = [...this.viewChanges.values()].filter(vc => vc.newView === view)
    if (vcs.length < this.q.quorum) return
    vcs.sort((a, b) => (a.from === this.self ? -1 : b.from === this.self ? 1 : a.from - b.from))
    const chosen = vcs.slice(0, this.q.quorum)
    const plan = planNewView(view, this.n, chosen)
    const batches: Batch[] = []
    for (const e of plan.entries) {
      const digest = batchDigest(this.crypto, e.timestamp, e.originView, e.proposer, e.requests.map(r => r.id))
      const body: PrePrepareBody = {
        chainId: this.config.chainId,
        from: this.self,
        kind: 'pre-prepare',
        payload: { view, seq: e.seq, timestamp: e.timestamp, originView: e.originView, proposer: e.proposer, digest, requests: e.requests }
      }
      batches.push(batchOf(body, signMessage(body, this.crypto)))
    }
    const wire = signMessage({
      chainId: this.config.chainId,
      from: this.self,
      kind: 'new-view',
      payload: { view, viewChanges: chosen.map(vc => vc.wire), prePrepares: batches.map(b => b.wire) }
    }, this.crypto)
    this.fx.push({ type: 'persist', record: newViewRecord(wire) }, { type: 'send', to: 'all', bytes: wire })
    this.install(view, plan, batches, wire)
  }

  private onNewView (body: NewViewBody, wire: Uint8Array): void {
    const p = body.payload
    const from = body.from
    const what = `new-view for view ${p.view}`
    if (from !== primaryOf(p.view, this.n)) { this.reject(from, `invalid: ${what} from ${from}, not its primary`); return }
    // Relays of the NEW-VIEW we already installed are expected (several replicas may relay it).
    if (p.view === this._view && !this._inViewChange) return
    if (p.view <= this._view || (this._inViewChange && p.view < this.target)) {
      this.reject(from, `stale: ${what}, replica is at view ${this._inViewChange ? this.target : this._view}`)
      return
    }
    if (p.viewChanges.length > this.n || p.prePrepares.length > this.L) {
      this.reject(from, `invalid: ${what} carries ${p.viewChanges.length} view-changes and ${p.prePrepares.length} batches (max ${this.n} and ${this.L})`)
      return
    }
    const vcs: ViewChangeInfo[] = []
    const senders = new Set<number>()
    for (const w of p.viewChanges) {
      const r = checkViewChange(this.ctx, w)
      if ('error' in r) { this.reject(from, `invalid: ${what}: ${r.error}`); return }
      if (r.ok.newView !== p.view) { this.reject(from, `invalid: ${what} carries a view-change to ${r.ok.newView}`); return }
      if (senders.has(r.ok.from)) { this.reject(from, `invalid: ${what} carries two view-changes from ${r.ok.from}`); return }
      senders.add(r.ok.from)
      vcs.push(r.ok)
    }
    if (vcs.length < this.q.quorum) { this.reject(from, `invalid: ${what} carries ${vcs.length} view-changes, needs ${this.q.quorum}`); return }
    const plan = planNewView(p.view, this.n, vcs)
    if (p.prePrepares.length !== plan.entries.length) {
      this.reject(from, `invalid: ${what} re-issues ${p.prePrepares.length} batches, expected ${plan.entries.length} for (${plan.minS}, ${plan.maxS}]`)
      return
    }
    const batches: Batch[] = []
    for (let i = 0; i < plan.entries.length; i++) {
      const entry = plan.entries[i]!
      const opened = openMessage(p.prePrepares[i]!, this.config, this.crypto)
      if ('error' in opened) { this.reject(from, `invalid: ${what}: re-issued batch ${i}: ${opened.error}`); return }
      const b = opened.body
      if (b.kind !== 'pre-prepare' || b.from !== from || b.payload.view !== p.view || !digestMatches(this.crypto, b.payload)) {
        this.reject(from, `invalid: ${what}: re-issued batch for seq ${entry.seq} is not a valid pre-prepare of view ${p.view}`)
        return
      }
      const batch = batchOf(b, p.prePrepares[i]!)
      if (!matchesPlan(batch, entry)) { this.reject(from, `invalid: ${what}: re-issued batch for seq ${entry.seq} differs from the one the view-changes determine`); return }
      batches.push(batch)
    }
    this.fx.push({ type: 'persist', record: newViewRecord(wire) })
    this.install(p.view, plan, batches, wire)
  }

  /** Ids of the requests in batches not executed yet: decided ones, or the current view's. */
  private liveRequestIds (): Set<string> {
    const live = new Set<string>()
    for (const [seq, e] of this.log) {
      if (seq <= this._lastExecuted) continue
      const b = e.decided ?? e.slots.get(this._view)?.batch
      if (b !== undefined) for (const r of b.requests) live.add(toHex(r.id))
    }
    return live
  }

  /** Enters `view` with the NEW-VIEW's re-issued batches (primary and backups alike). */
  private install (view: number, plan: NewViewPlan, batches: Batch[], newViewWire: Uint8Array): void {
    this._view = view
    this.newViewWire = newViewWire
    this._inViewChange = false
    this.target = view
    this.cancelTimer('vc')
    for (const [r, vc] of this.viewChanges) if (vc.newView <= view) this.viewChanges.delete(r)
    if (plan.stable.seq > this.low) {
      this.stabilize(plan.stable)
      if (plan.stable.seq > this._lastExecuted) {
        this.lastNeedSync = Math.max(this.lastNeedSync, plan.stable.seq)
        this.fx.push({ type: 'needSync', seq: plan.stable.seq })
      }
    }
    for (const [seq, e] of this.log) {
      for (const [v, slot] of e.slots) {
        if (v >= view) continue
        // Our own COMMIT of that view and the batch it is for stay, as late evidence: the
        // others may have decided the seq there with our vote, and a replica that forwards us
        // that decision leaves out what it believes we hold (forwardDecided). Dropped with the
        // slot, a replica whose own copies of the decision's other COMMITs were lost could never
        // complete the certificate, and stayed stuck (simulator seed 6522).
        const own = slot.commits.get(this.self)
        if (slot.batch !== undefined && own !== undefined && bytesEqual(own.digest, slot.batch.digest)) this.keepLate(seq, v, slot.batch, this.self, own)
        e.slots.delete(v)
      }
    }
    const isPrimary = primaryOf(view, this.n) === this.self
    let maxTimestamp = this.lastProposedTimestamp
    for (const b of batches) {
      if (b.seq <= this.low) continue
      const slot = this.slot(b.seq, view)
      slot.batch = b
      if (!isPrimary) this.sendVote('prepare', slot, b)
      maxTimestamp = Math.max(maxTimestamp, b.timestamp)
    }
    this.nextSeq = Math.max(plan.maxS, this.low, this._lastExecuted) + 1
    this.lastProposedTimestamp = maxTimestamp
    this.pool.resetUnproposed(this.liveRequestIds())
    this.fx.push({ type: 'viewChanged', view, primary: primaryOf(view, this.n) })
    this.replayDeferred = this.deferred.length > 0
    for (const b of batches) this.checkProgress(b.seq, view)
  }

  // ---------------------------------------------------------------- timers

  private onTimer (id: string): void {
    const [kind, gen] = id.split(':')
    if (kind !== 'batch' && kind !== 'vc' && kind !== 'sync') return
    // A timer that was cancelled or re-armed since is stale.
    if (this.timers[kind] === null || String(this.timers[kind]) !== gen) return
    this.timers[kind] = null
    if (kind === 'batch') this.tryPropose(true)
    else if (kind === 'sync') this.onSyncTimer()
    else this.onViewChangeTimer()
  }

  private armTimer (kind: TimerKind, delayMs: number): void {
    this.cancelTimer(kind)
    const gen = ++this.timerGen
    this.timers[kind] = gen
    this.fx.push({ type: 'setTimer', id: `${kind}:${gen}`, delayMs })
  }

  private cancelTimer (kind: TimerKind): void {
    const gen = this.timers[kind]
    if (gen === null) return
    this.timers[kind] = null
    this.fx.push({ type: 'cancelTimer', id: `${kind}:${gen}` })
  }

  // ---------------------------------------------------------------- helpers

  private slot (seq: number, view: number): Slot {
    return slotOf(this.log, seq, view)
  }

  private reject (from: ReplicaId, reason: string): void {
    this.fx.push({ type: 'rejected', from, reason })
  }

  private restore (r: NonNullable<ReplicaOptions['restore']>): void {
    const s = restoreState(r.records, r.lastExecuted.seq, this.self, this.n)
    this._lastExecuted = r.lastExecuted.seq
    this.low = s.stable.seq
    this.stableProof = s.stable
    this._view = s.view
    this._inViewChange = s.target > s.view
    this.target = s.target
    this.vcAttempts = this._inViewChange ? 1 : 0
    this.nextSeq = Math.max(s.nextSeq, this.low + 1, this._lastExecuted + 1)
    this.lastProposedTimestamp = s.lastProposedTimestamp
    for (const [seq, e] of s.log) if (seq > this.low) this.log.set(seq, e)
    for (const c of s.checkpoints) {
      if (c.seq > this.low - this.L) this.checkpoints.add(this.self, c.seq, { blockHash: c.blockHash, stateRoot: c.stateRoot, signature: c.signature }, true)
    }
    if (s.newViewWire !== undefined) this.newViewWire = s.newViewWire
    if (s.lastCheckpointWire !== undefined) this.lastCheckpointWire = s.lastCheckpointWire
    this.lastCheckpointSeq = s.checkpoints.reduce((m, c) => Math.max(m, c.seq), -1)
    this.restoredExecuted = r.lastExecuted
    if (s.ownViewChange !== undefined && this._inViewChange) {
      this.ownViewChangeWire = s.ownViewChange.wire
      this.viewChanges.set(this.self, s.ownViewChange)
    }
  }
}

function isObject (v: unknown): v is Record<string, unknown> & { type?: unknown } {
  return typeof v === 'object' && v !== null
}

function isSeq (v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}
