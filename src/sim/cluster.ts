import { createHash, type Hash } from 'node:crypto'
import { faultTolerance, type ClientRequest, type ReplicaConfig, type ReplicaEffect, type ReplicaEvent } from '../consensus/types.js'
import { errorMessage } from '../errors.js'
import { HashChainApp, type ExecuteBatch, type ExecutedBlock, type SimApp } from './app.js'
import { ByzantineHost, type ByzantineStats } from './byzantine.js'
import { createMessageTools, type MessageTools } from './message-tools.js'
import { AgreementChecker } from './checkers/agreement.js'
import { CertificateChecker, type Certificate } from './checkers/certificates.js'
import { LedgerChecker } from './checkers/ledger.js'
import { LivenessChecker } from './checkers/liveness.js'
import type { Violation } from './checkers/types.js'
import { ValidityChecker } from './checkers/validity.js'
import { EPOCH_MS, VirtualClock } from './clock.js'
import { createCryptoSuite, type CryptoKind, type CryptoSuite } from './crypto.js'
import { describePlan, generateFaultPlan, type Crash, type FaultMix, type FaultPlan } from './faults.js'
import { SimNetwork } from './network.js'
import { Prng } from './prng.js'
import { EventQueue } from './queue.js'
import type { ReplicaBug, ReplicaFactory, SimReplica } from './replica-api.js'
import { RequestFactory } from './requests.js'
import { SimStorage } from './storage.js'
import { findSyncSource } from './sync.js'
import { DEFAULT_PARAMS, type Genesis } from '../ledger/genesis.js'
import { LedgerApp } from './ledger/app.js'
import type { LedgerBug } from './ledger/bugs.js'
import { LedgerWorkload, type Workload, type WorkloadItem } from './ledger/workload.js'

/**
 * The application every correct replica runs: `hash-chain` (HashChainApp, synchronous, the
 * fast default) or `ledger` (ledger/app.ts: mempool, execution, Merkle state and block store
 * on an in-memory LevelDB; clients send real signed transactions).
 */
export type AppKind = 'hash-chain' | 'ledger'
export const APP_KINDS: readonly AppKind[] = ['hash-chain', 'ledger']

export interface ClusterOptions {
  seed: number
  validators: number
  factory: ReplicaFactory
  crypto?: CryptoKind
  bug?: ReplicaBug
  app?: AppKind
  /** A deliberately broken executor for the ledger app (ledger/bugs.ts). */
  ledgerBug?: LedgerBug
  mix?: FaultMix
  /** Virtual ms after the last fault heals by which every correct replica must have executed every request. */
  livenessBoundMs?: number
  /** Safety valve against message storms; exceeding it is reported as a liveness violation. */
  maxEvents?: number
  trace?: (line: string) => void
}

export interface ClusterStats {
  events: number
  messagesSent: number
  messagesDelivered: number
  dropped: number
  duplicated: number
  cut: number
  virtualMs: number
  healAt: number
  height: number
  requests: number
  viewChanges: number
  maxView: number
  crashes: number
  /** Crashes that cut a step: only a prefix of its effects was carried out. */
  midStepCrashes: number
  restarts: number
  syncs: number
  rejected: number
  certificates: number
  duplicateInclusions: number
  byzantine: ByzantineStats
  /** Ledger app: receipts in the committed chain ('ok' and failures), by status. */
  txsOk: number
  txsFailed: number
  receipts: Record<string, number>
  /** Ledger app: mempool admissions the correct replicas refused, by error code. */
  refused: Record<string, number>
}

export interface ClusterResult {
  violations: Violation[]
  stats: ClusterStats
  traceHash: string
  plan: string
}

type SimEvent =
  | { kind: 'deliver', from: number, to: number, bytes: Uint8Array }
  | { kind: 'timer', replica: number, id: string, token: number }
  | { kind: 'executed', replica: number, incarnation: number, seq: number, blockHash: Uint8Array, stateRoot: Uint8Array, retryable?: Uint8Array[] }
  | { kind: 'sync', replica: number, incarnation: number, attempt: number }
  | { kind: 'request', replica: number, index: number }
  | { kind: 'submit', index: number }
  | { kind: 'crash', crash: Crash }
  | { kind: 'crash-now', replica: number, incarnation: number }
  | { kind: 'restart', replica: number }
  | { kind: 'client-retry' }
  | { kind: 'byz-tick', replica: number }
  | { kind: 'probe' }
  | { kind: 'status' }

interface Node {
  id: number
  byz: ByzantineHost | null
  replica: SimReplica | null
  incarnation: number
  app: SimApp
  /** Ready mempool transactions are to be handed to the replica ('all': again, after a view change). */
  feed: 'new' | 'all' | null
  timers: Map<string, number>
  cutNextStep: boolean
  syncing: boolean
  /** Height at the previous status round when it was behind a certificate, else -1. */
  behindAt: number
}

const STATUS_INTERVAL_MS = 1000

const EVENT_CODE: Record<SimEvent['kind'], number> = {
  deliver: 1, timer: 2, executed: 3, sync: 4, request: 5, submit: 6, crash: 7, 'crash-now': 8, restart: 9, 'client-retry': 10, 'byz-tick': 11, probe: 12, status: 13
}

/**
 * n replicas of the real Replica wired to a simulated network, clock, storage and clients,
 * with faults injected from a plan drawn from the seed. Every step is checked against the
 * agreement, validity and certificate invariants; liveness is checked once the last fault
 * has healed. Deterministic: the same options give the same trace hash.
 */
export class Cluster {
  readonly plan: FaultPlan
  readonly config: Omit<ReplicaConfig, 'self'>
  private readonly prng: Prng
  private readonly netPrng: Prng
  private readonly byzPrng: Prng
  private readonly queue = new EventQueue<SimEvent>()
  private readonly clock: VirtualClock
  private readonly network: SimNetwork
  private readonly storage: SimStorage
  private readonly suite: CryptoSuite
  private readonly nodes: Node[] = []
  private readonly tools: MessageTools
  private readonly workload: Workload
  private readonly requests: ClientRequest[] = []
  /** Submitted requests a correct cluster must execute (liveness, client retries). */
  private readonly submitted: Array<{ id: string, index: number }> = []
  private submitCount = 0
  /** Executions of async apps, carried out one at a time after the current event (settle). */
  private readonly work: Array<{ node: Node, incarnation: number, batch: ExecuteBatch }> = []
  private readonly ledger: LedgerChecker | null = null
  private readonly genesis: Genesis | null = null
  private readonly certs = new Map<number, Certificate>()
  private readonly violations: Violation[] = []
  private readonly agreement: AgreementChecker
  private readonly validity: ValidityChecker
  private readonly certificates: CertificateChecker
  private readonly liveness: LivenessChecker
  private readonly trace: Hash = createHash('sha256')
  private readonly f: number
  private readonly deadline: number
  private readonly maxEvents: number
  private tokens = 0
  /** Per request index: must a correct cluster execute it (WorkloadItem.expectCommit)? */
  private expected: boolean[] = []
  private done = false
  private readonly stats: Omit<ClusterStats, 'byzantine' | 'messagesSent' | 'messagesDelivered' | 'dropped' | 'duplicated' | 'cut' | 'duplicateInclusions' | 'txsOk' | 'txsFailed' | 'receipts' | 'refused'> = {
    events: 0, virtualMs: 0, healAt: 0, height: 0, requests: 0, viewChanges: 0, maxView: 0, crashes: 0, midStepCrashes: 0, restarts: 0, syncs: 0, rejected: 0, certificates: 0
  }

  constructor (private readonly opts: ClusterOptions) {
    const n = opts.validators
    this.f = faultTolerance(n).f
    const root = new Prng(opts.seed, 'bft-ledger/sim')
    const planPrng = root.fork('plan')
    const configPrng = root.fork('config')
    this.netPrng = root.fork('network')
    this.byzPrng = root.fork('byzantine')
    this.prng = root.fork('cluster')
    this.plan = generateFaultPlan(n, planPrng, opts.mix)
    const checkpointInterval = configPrng.pick([2, 4, 8])
    this.config = {
      chainId: 'bft-ledger-sim',
      validators: [],
      maxBatchSize: configPrng.pick([1, 2, 4, 8]),
      maxBatchBytes: 64 * 1024,
      batchTimeoutMs: configPrng.int(2, 30),
      checkpointInterval,
      windowSize: checkpointInterval * configPrng.pick([2, 4]),
      viewChangeTimeoutMs: configPrng.int(300, 800),
      maxClockSkewMs: 1000
    }
    // Drawn last so the draws above (and so every seed's other parameters) stay as they were.
    // 0 stands for "no limit" (the option left out); the node runs with 1.
    const maxInFlight = configPrng.pick([0, 1, 2, 4])
    if (maxInFlight > 0) this.config.maxInFlightBatches = maxInFlight
    // Drawn after it for the same reason; 0 is "left out" (the node's default is 50).
    const minInterval = configPrng.pick([0, 0, 20, 50])
    if (minInterval > 0) this.config.minBlockIntervalMs = minInterval
    this.suite = createCryptoSuite(opts.crypto ?? 'sim', opts.seed, n)
    this.config.validators = this.suite.validators
    this.tools = createMessageTools(this.config, this.suite.forReplica(0))
    this.clock = new VirtualClock(this.plan.skews)
    this.network = new SimNetwork(n, this.netPrng, this.plan.network, this.plan.partitions, this.plan.healAt)
    this.storage = new SimStorage(n)
    const report = (v: Violation): void => { this.violations.push(v) }
    if (opts.app === 'ledger') {
      const w = new LedgerWorkload(opts.seed, this.config.chainId)
      this.workload = w
      this.genesis = {
        chainId: this.config.chainId,
        // Before any replica's (skewed) clock: block 1's timestamp must not precede it.
        genesisTime: EPOCH_MS - 10_000,
        validators: this.suite.validators.map((v, i) => ({ name: `sim-${i}`, publicKey: v.publicKey, peerId: `sim-${i}` })),
        balances: w.balances,
        params: { ...DEFAULT_PARAMS, maxBatchSize: this.config.maxBatchSize, batchTimeoutMs: this.config.batchTimeoutMs, checkpointInterval: checkpointInterval, windowSize: this.config.windowSize, viewChangeTimeoutMs: this.config.viewChangeTimeoutMs }
      }
      this.ledger = new LedgerChecker(w.totalSupply, report)
    } else {
      const f = new RequestFactory(opts.seed)
      this.workload = { next: () => ({ request: f.next(), expectCommit: true, kind: 'request' }), isValid: r => f.isValid(r) }
    }
    this.agreement = new AgreementChecker(report)
    this.validity = new ValidityChecker(report)
    this.certificates = new CertificateChecker(this.config.chainId, this.suite.validators, this.suite.forReplica(0), this.agreement, report)
    this.liveness = new LivenessChecker(report)
    this.deadline = this.plan.healAt + (opts.livenessBoundMs ?? Math.max(15_000, 40 * this.config.viewChangeTimeoutMs))
    this.maxEvents = opts.maxEvents ?? 2_000_000
    this.stats.healAt = this.plan.healAt
  }

  describe (): string {
    const c = this.config
    return `n=${this.opts.validators} f=${this.f} batch=${c.maxBatchSize}/${c.batchTimeoutMs}ms inFlight=${c.maxInFlightBatches ?? 'any'} minInterval=${c.minBlockIntervalMs ?? 0}ms K=${c.checkpointInterval} L=${c.windowSize} vcTimeout=${c.viewChangeTimeoutMs}ms ${describePlan(this.plan)}`
  }

  async run (): Promise<ClusterResult> {
    const n = this.opts.validators
    for (let i = 0; i < n; i++) this.nodes.push(this.createNode(i, await this.createApp(i)))
    for (const node of this.nodes) this.startNode(node, false)
    const items: WorkloadItem[] = []
    this.plan.requestTimes.forEach((t, index) => {
      const item = this.workload.next()
      items.push(item)
      this.requests.push(item.request)
      this.queue.push(t, { kind: 'submit', index })
    })
    this.expected = items.map(i => i.expectCommit)
    for (const c of this.plan.crashes) {
      if (this.nodes[c.replica]!.byz !== null) continue
      this.queue.push(c.at, { kind: 'crash', crash: c })
      this.queue.push(c.restartAt, { kind: 'restart', replica: c.replica })
    }
    for (const node of this.nodes) if (node.byz !== null) this.queue.push(this.byzPrng.int(50, 300), { kind: 'byz-tick', replica: node.id })
    this.queue.push(this.retryInterval(), { kind: 'client-retry' })
    this.queue.push(this.plan.healAt, { kind: 'probe' })
    this.queue.push(STATUS_INTERVAL_MS, { kind: 'status' })

    while (!this.done && this.violations.length === 0) {
      const next = this.queue.pop()
      if (next === undefined) break
      if (next.time > this.deadline) break
      this.clock.advanceTo(next.time)
      this.stats.events++
      if (this.stats.events > this.maxEvents) {
        this.violations.push({ invariant: 'liveness', time: this.clock.now, message: `event budget of ${this.maxEvents} exhausted at t=${this.clock.now}ms (message storm?)` })
        break
      }
      await this.handle(next.item)
      await this.settle()
    }
    if (!this.done && this.violations.length === 0) {
      this.clock.advanceTo(Math.max(this.clock.now, this.deadline))
      this.liveness.check(this.correctApps(), this.submittedIds(), this.plan.healAt, this.deadline, r => this.describeReplica(r))
    }
    if (this.ledger !== null && this.violations.length === 0) {
      const apps = new Map<number, LedgerApp>()
      for (const [id, app] of this.correctApps()) if (app instanceof LedgerApp) apps.set(id, app)
      await this.ledger.final(apps, seq => this.agreement.canonicalBlock(seq)?.stateRoot, this.clock.now)
    }
    return { violations: this.violations, stats: this.collectStats(), traceHash: this.trace.digest('hex'), plan: this.describe() }
  }

  private async handle (ev: SimEvent): Promise<void> {
    const now = this.clock.now
    this.hashEvent(ev, now)
    switch (ev.kind) {
      case 'deliver': {
        const node = this.nodes[ev.to]!
        if (!this.isUp(node) || !this.network.canDeliver(ev.from, ev.to, now)) return
        this.step(node, { type: 'message', from: ev.from, bytes: ev.bytes })
        return
      }
      case 'timer': {
        const node = this.nodes[ev.replica]!
        if (node.timers.get(ev.id) !== ev.token) return
        node.timers.delete(ev.id)
        this.step(node, { type: 'timer', id: ev.id })
        return
      }
      case 'executed': {
        const node = this.nodes[ev.replica]!
        if (node.incarnation !== ev.incarnation || !this.isUp(node)) return
        this.step(node, { type: 'executed', seq: ev.seq, blockHash: ev.blockHash, stateRoot: ev.stateRoot, ...(ev.retryable !== undefined && ev.retryable.length > 0 ? { retryable: ev.retryable } : {}) })
        return
      }
      case 'sync':
        await this.sync(ev.replica, ev.incarnation, ev.attempt)
        return
      case 'submit': {
        const request = this.requests[ev.index]!
        this.validity.onSubmit(request, now)
        this.submitCount++
        if (this.expected[ev.index] === true) this.submitted.push({ id: Buffer.from(request.id).toString('hex'), index: ev.index })
        this.stats.requests++
        for (const node of this.nodes) this.queue.push(now + this.netPrng.int(0, 5), { kind: 'request', replica: node.id, index: ev.index })
        return
      }
      case 'request': {
        const node = this.nodes[ev.replica]!
        if (!this.isUp(node)) return
        const request = this.requests[ev.index]!
        const pool = node.byz === null ? node.app.mempool : undefined
        if (pool === undefined) { this.step(node, { type: 'request', request }); return }
        // As the node: admission first; ready transactions reach the replica in settle().
        await pool.admit(request)
        node.feed ??= 'new'
        return
      }
      case 'crash': {
        const node = this.nodes[ev.crash.replica]!
        if (!this.isUp(node)) return
        if (ev.crash.midStep) {
          node.cutNextStep = true
          this.queue.push(now + 50, { kind: 'crash-now', replica: node.id, incarnation: node.incarnation })
        } else {
          this.crash(node)
        }
        return
      }
      case 'crash-now': {
        const node = this.nodes[ev.replica]!
        if (node.incarnation === ev.incarnation && this.isUp(node)) this.crash(node)
        return
      }
      case 'restart': {
        const node = this.nodes[ev.replica]!
        // A mid-step crash still waiting for its step happens now, so the restart is real.
        if (node.cutNextStep && node.replica !== null) this.crash(node)
        if (!this.isUp(node)) this.startNode(node, true)
        return
      }
      case 'client-retry':
        this.clientRetry()
        return
      case 'byz-tick': {
        const node = this.nodes[ev.replica]!
        if (node.byz !== null) this.apply(node, node.byz.tick(now))
        this.queue.push(now + this.byzPrng.int(50, 300), { kind: 'byz-tick', replica: ev.replica })
        return
      }
      case 'status':
        this.statusRound()
        this.queue.push(now + STATUS_INTERVAL_MS, { kind: 'status' })
        return
      case 'probe':
        if (this.submitCount === this.requests.length && this.liveness.missing(this.correctApps(), this.submittedIds()).size === 0) {
          this.done = true
        } else {
          this.queue.push(now + 50, { kind: 'probe' })
        }
    }
  }

  /** Byzantine replicas get no ledger: their execution is never checked (ByzantineHost runs its own). */
  private async createApp (id: number): Promise<SimApp> {
    if (this.genesis === null || this.plan.byzantine.has(id)) return new HashChainApp()
    return await LedgerApp.open({ replica: id, genesis: this.genesis, ...(this.opts.ledgerBug !== undefined ? { bug: this.opts.ledgerBug } : {}) })
  }

  private createNode (id: number, app: SimApp): Node {
    const behaviours = this.plan.byzantine.get(id)
    const node: Node = { id, byz: null, replica: null, incarnation: 0, app, feed: null, timers: new Map(), cutNextStep: false, syncing: false, behindAt: -1 }
    if (behaviours !== undefined) {
      node.byz = new ByzantineHost(id, this.opts.validators, behaviours, this.byzPrng.fork(`byz-${id}`),
        () => this.opts.factory({ ...this.config, self: id }, this.suite.forReplica(id), { isValidRequest: r => this.workload.isValid(r) }),
        this.suite.forReplica(id), this.tools, new Set(this.plan.byzantine.keys()))
    }
    return node
  }

  private startNode (node: Node, restart: boolean): void {
    const now = this.clock.localNow(node.id)
    if (node.byz !== null) {
      this.apply(node, node.byz.start(now))
      return
    }
    const options = {
      // The node's isValidRequest is its mempool's stateless check (verdict cache).
      isValidRequest: (r: ClientRequest) => node.app.mempool?.isValid(r) ?? this.workload.isValid(r),
      ...(this.opts.bug !== undefined ? { bug: this.opts.bug } : {}),
      ...(restart ? { restore: { records: this.storage.records(node.id), lastExecuted: node.app.lastExecuted } } : {})
    }
    try {
      node.replica = this.opts.factory({ ...this.config, self: node.id }, this.suite.forReplica(node.id), options)
      if (restart) {
        this.stats.restarts++
        this.agreement.resetBaseline(node.id, node.app.lastExecuted.seq)
      }
      this.apply(node, node.replica.start(now))
      // Recovery, as the node does it: catch up by block sync from peers' certified blocks.
      if (restart && node.replica !== null) this.requestSync(node)
    } catch (err) {
      this.violations.push({ invariant: 'replica-error', time: this.clock.now, replica: node.id, message: `replica ${node.id} threw on ${restart ? 'restart' : 'start'}: ${errorMessage(err)}` })
    }
  }

  private crash (node: Node): void {
    this.stats.crashes++
    node.replica = null
    node.incarnation++
    node.timers.clear()
    node.cutNextStep = false
    node.syncing = false
    node.feed = null
    node.app.reset?.()
    this.opts.trace?.(`t=${this.clock.now} crash replica ${node.id} (wal ${this.storage.count(node.id)} records, executed ${node.app.lastExecuted.seq})`)
  }

  private isUp (node: Node): boolean {
    return node.byz !== null || node.replica !== null
  }

  private step (node: Node, event: ReplicaEvent): void {
    const now = this.clock.localNow(node.id)
    if (node.byz !== null) {
      this.apply(node, node.byz.step(event, now))
      return
    }
    let effects: ReplicaEffect[]
    if (this.opts.trace !== undefined) this.traceStep(node, event, now)
    try {
      effects = node.replica!.step(event, now)
    } catch (err) {
      this.violations.push({ invariant: 'replica-error', time: this.clock.now, replica: node.id, message: `replica ${node.id} threw on ${event.type}: ${errorMessage(err)}` })
      return
    }
    this.apply(node, effects)
  }

  private traceStep (node: Node, event: ReplicaEvent, localNow: number): void {
    let what: string = event.type
    if (event.type === 'message') {
      const o = this.tools.open(event.bytes)
      what = o === null ? `invalid message from ${event.from}` : `${o.body.kind} from ${event.from} ${JSON.stringify(o.body.payload, (k, v) => v instanceof Uint8Array ? Buffer.from(v).toString('hex').slice(0, 8) : (k === 'requests' || k === 'prepared' || k === 'viewChanges' || k === 'prePrepares' || k === 'signatures') && Array.isArray(v) ? `[${v.length}]` : v)}`
    } else if (event.type === 'timer') what = `timer ${event.id}`
    else if (event.type === 'request') what = `request ${Buffer.from(event.request.id).toString('hex').slice(0, 8)}`
    else if (event.type === 'executed' || event.type === 'synced') what = `${event.type} ${event.seq}`
    this.opts.trace!(`t=${this.clock.now} r${node.id} (local ${localNow - EPOCH_MS}) <- ${what}`)
  }

  private apply (node: Node, effects: ReplicaEffect[]): void {
    let cut = effects.length
    const crashAfter = node.cutNextStep && node.byz === null
    if (crashAfter) cut = this.prng.int(0, effects.length)
    for (let i = 0; i < cut; i++) this.effect(node, effects[i]!)
    if (crashAfter) {
      this.stats.midStepCrashes++
      this.opts.trace?.(`t=${this.clock.now} replica ${node.id} crashes after ${cut}/${effects.length} effects of a step`)
      this.crash(node)
    }
  }

  private effect (node: Node, e: ReplicaEffect): void {
    const now = this.clock.now
    switch (e.type) {
      case 'persist':
        this.storage.append(node.id, e.record)
        return
      case 'send': {
        if (this.opts.trace !== undefined) this.opts.trace(`t=${now} r${node.id} -> ${e.to}: ${this.tools.open(e.bytes)?.body.kind ?? 'unopenable'}`)
        const targets = e.to === 'all' ? this.nodes.map(x => x.id).filter(x => x !== node.id) : [e.to]
        for (const to of targets) {
          if (!Number.isInteger(to) || to < 0 || to >= this.nodes.length) continue
          if (to === node.id) { this.queue.push(now, { kind: 'deliver', from: node.id, to, bytes: e.bytes }); continue }
          for (const t of this.network.send(node.id, to, now)) this.queue.push(t, { kind: 'deliver', from: node.id, to, bytes: e.bytes })
        }
        return
      }
      case 'setTimer': {
        this.opts.trace?.(`t=${now} r${node.id} setTimer ${e.id} +${e.delayMs}ms`)
        const token = ++this.tokens
        node.timers.set(e.id, token)
        this.queue.push(now + Math.max(0, e.delayMs), { kind: 'timer', replica: node.id, id: e.id, token })
        return
      }
      case 'cancelTimer':
        node.timers.delete(e.id)
        return
      case 'execute':
        this.execute(node, e)
        return
      case 'certified': {
        const cert: Certificate = { seq: e.seq, blockHash: e.blockHash, stateRoot: e.stateRoot, signatures: e.signatures }
        if (node.byz === null) this.certificates.onCertified(node.id, cert, now)
        if (!this.certs.has(e.seq) && this.certificates.verify(cert) === null) {
          this.certs.set(e.seq, cert)
          this.stats.certificates++
        }
        return
      }
      case 'viewChanged':
        this.stats.viewChanges++
        this.stats.maxView = Math.max(this.stats.maxView, e.view)
        this.opts.trace?.(`t=${now} replica ${node.id} view ${e.view}`)
        if (node.byz === null && node.app.mempool !== undefined) node.feed = 'all'
        return
      case 'viewChangeStarted':
        this.opts.trace?.(`t=${now} replica ${node.id} view-change to ${e.newView} (${e.reason}; executed ${e.status.lastExecuted}, decided ${e.status.decided})`)
        return
      case 'needSync':
        if (node.byz === null) this.requestSync(node)
        return
      case 'rejected':
        this.opts.trace?.(`t=${now} r${node.id} rejected message from ${e.from}: ${e.reason}`)
        this.stats.rejected++
        return
      case 'truncateLog':
        if (node.byz === null) this.storage.truncate(node.id, e.belowSeq)
    }
  }

  private execute (node: Node, e: ReplicaEffect & { type: 'execute' }): void {
    // An async app executes after this step's effects, in settle(); the effect is carried out
    // all the same (the app is durable), so a crash later in this step does not undo it.
    if (node.app.isAsync) { this.work.push({ node, incarnation: node.incarnation, batch: e }); return }
    let block: ExecutedBlock
    try {
      block = node.app.execute(e) as ExecutedBlock
    } catch (err) {
      this.executeFailed(node, e, err)
      return
    }
    this.afterExecute(node, e, block, node.incarnation)
  }

  private executeFailed (node: Node, e: ExecuteBatch, err: unknown): void {
    this.violations.push({ invariant: 'agreement', time: this.clock.now, replica: node.id, seq: e.seq, message: `replica ${node.id} asked to execute seq ${e.seq}: ${errorMessage(err)}` })
  }

  private afterExecute (node: Node, e: ExecuteBatch, block: ExecutedBlock, incarnation: number): void {
    const now = this.clock.now
    this.opts.trace?.(`t=${now} replica ${node.id} executes seq ${e.seq} view ${e.view} [${e.requests.length} reqs]`)
    if (node.byz === null) {
      this.agreement.onExecute(node.id, block, now)
      this.validity.onExecute(node.id, block, e.requests, now)
      this.ledger?.onBlock(node.id, block, this.agreement.canonicalBlock(e.seq) === block, now)
      this.certificates.flush()
      this.stats.height = Math.max(this.stats.height, e.seq)
    }
    this.queue.push(now + this.prng.int(0, 2), { kind: 'executed', replica: node.id, incarnation, seq: e.seq, blockHash: block.blockHash, stateRoot: block.stateRoot, ...(block.retryable !== undefined ? { retryable: block.retryable } : {}) })
  }

  /**
   * Runs what the last event left for async apps, one call at a time and in order, so a run
   * stays deterministic: deferred executions, then handing ready mempool transactions to
   * replicas (which may order more executions).
   */
  private async settle (): Promise<void> {
    while (this.violations.length === 0) {
      const w = this.work.shift()
      if (w !== undefined) {
        let block: ExecutedBlock
        try {
          block = await w.node.app.execute(w.batch)
        } catch (err) {
          this.executeFailed(w.node, w.batch, err)
          continue
        }
        this.afterExecute(w.node, w.batch, block, w.incarnation)
        // Queued future-nonce transactions may have become ready (the node's scheduleFeed).
        if (w.node.app.mempool !== undefined) w.node.feed ??= 'new'
        continue
      }
      const node = this.nodes.find(x => x.feed !== null)
      if (node === undefined) return
      const all = node.feed === 'all'
      node.feed = null
      const pool = node.app.mempool
      if (pool === undefined || node.replica === null) continue
      for (const request of pool.reap(all)) {
        if (node.replica === null) break
        this.step(node, { type: 'request', request })
      }
    }
  }

  private requestSync (node: Node): void {
    if (node.syncing) return
    node.syncing = true
    this.queue.push(this.clock.now + this.prng.int(10, 60), { kind: 'sync', replica: node.id, incarnation: node.incarnation, attempt: 0 })
  }

  /**
   * Peers' heights travel in heartbeats (p2p/): a replica that stays behind a certified block
   * for a whole status round, without progress, block-syncs even if its replica never asked.
   */
  private statusRound (): void {
    let top = 0
    for (const seq of this.certs.keys()) top = Math.max(top, seq)
    for (const node of this.nodes) {
      if (node.byz !== null || node.replica === null) continue
      const h = node.app.lastExecuted.seq
      if (h >= top) { node.behindAt = -1; continue }
      if (node.behindAt === h) this.requestSync(node)
      node.behindAt = h
    }
  }

  /** Block-sync stand-in: copy certified blocks from a correct replica's app, then tell the replica. */
  private async sync (replica: number, incarnation: number, attempt: number): Promise<void> {
    const node = this.nodes[replica]!
    if (node.incarnation !== incarnation || node.replica === null) return
    const have = node.app.lastExecuted.seq
    const sources = this.nodes.filter(o => o.byz === null && o !== node).map(o => o.app)
    const best = findSyncSource(have, this.certs, sources)
    if (best === null) {
      if (attempt < 20) this.queue.push(this.clock.now + 100, { kind: 'sync', replica, incarnation, attempt: attempt + 1 })
      else node.syncing = false
      return
    }
    node.syncing = false
    const from = have + 1
    try {
      await node.app.adoptFrom(best.source, best.cert.seq)
    } catch (err) {
      const src = this.nodes.find(o => o.app === best.source)?.id
      this.violations.push({ invariant: 'agreement', time: this.clock.now, replica, seq: best.cert.seq, message: `replica ${replica} syncing ${from}..${best.cert.seq} from replica ${src}: ${errorMessage(err)}` })
      return
    }
    for (let s = from; s <= best.cert.seq; s++) {
      const b = node.app.block(s)!
      this.agreement.onExecute(node.id, b, this.clock.now)
      this.validity.onExecute(node.id, b, undefined, this.clock.now)
      this.ledger?.onBlock(node.id, b, this.agreement.canonicalBlock(s) === b, this.clock.now)
    }
    // As the node: the replica forgets its pending requests on a sync, the mempool gives them back.
    if (node.app.mempool !== undefined) node.feed = 'all'
    this.stats.syncs++
    this.opts.trace?.(`t=${this.clock.now} replica ${replica} synced ${from}..${best.cert.seq}`)
    this.step(node, { type: 'synced', seq: best.cert.seq, blockHash: best.cert.blockHash, stateRoot: best.cert.stateRoot, signatures: best.cert.signatures })
  }

  /** A client that got fewer than f+1 replies resends its request to every replica. */
  private clientRetry (): void {
    const now = this.clock.now
    const apps = [...this.correctApps().values()]
    for (const { id, index } of this.submitted) {
      let replies = 0
      for (const a of apps) if (a.hasApplied(id)) replies++
      if (replies > this.f) continue
      for (const node of this.nodes) this.queue.push(now + this.netPrng.int(0, 5), { kind: 'request', replica: node.id, index })
    }
    this.queue.push(now + this.retryInterval(), { kind: 'client-retry' })
  }

  private retryInterval (): number {
    return 4 * this.config.viewChangeTimeoutMs
  }

  private submittedIds (): string[] {
    return this.submitted.map(s => s.id)
  }

  private correctApps (): Map<number, SimApp> {
    const m = new Map<number, SimApp>()
    for (const node of this.nodes) if (node.byz === null) m.set(node.id, node.app)
    return m
  }

  private describeReplica (id: number): string {
    const node = this.nodes[id]!
    const r = node.replica
    return `replica ${id} is ${r === null ? 'down' : `in view ${r.view}`}, executed up to seq ${node.app.lastExecuted.seq} (cluster height ${this.agreement.height})`
  }

  private hashEvent (ev: SimEvent, now: number): void {
    const head = Buffer.alloc(16)
    head.writeUInt32LE(EVENT_CODE[ev.kind], 0)
    head.writeDoubleLE(now, 4)
    head.writeUInt32LE('replica' in ev ? ev.replica : ev.kind === 'deliver' ? ev.to * 1000 + ev.from : 0, 12)
    this.trace.update(head)
    if (ev.kind === 'deliver') this.trace.update(ev.bytes)
  }

  private collectStats (): ClusterStats {
    const byzantine: ByzantineStats = { equivocations: 0, echoedVotes: 0, forged: 0, replayed: 0, futureViews: 0, corrupted: 0 }
    for (const node of this.nodes) {
      if (node.byz === null) continue
      for (const k of Object.keys(byzantine) as Array<keyof ByzantineStats>) byzantine[k] += node.byz.stats[k]
    }
    const net = this.network.stats
    const refused: Record<string, number> = {}
    for (const node of this.nodes) {
      if (node.byz !== null || !(node.app instanceof LedgerApp)) continue
      for (const [code, k] of Object.entries(node.app.refused)) refused[code] = (refused[code] ?? 0) + k
    }
    return {
      ...this.stats,
      virtualMs: this.clock.now,
      messagesSent: net.sent,
      messagesDelivered: net.delivered,
      dropped: net.dropped,
      duplicated: net.duplicated,
      cut: net.cut,
      duplicateInclusions: this.validity.duplicateInclusions,
      byzantine,
      txsOk: this.ledger?.totals.txsOk ?? 0,
      txsFailed: this.ledger?.totals.txsFailed ?? 0,
      receipts: { ...this.ledger?.totals.receipts },
      refused
    }
  }
}
