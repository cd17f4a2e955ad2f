import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Connection, Stream } from '@libp2p/interface'
import type { Logger } from '../log.js'
import type { PeerView } from '../node/service.js'
import { errorMessage } from '../errors.js'
import { keyPairFromSeed } from '../crypto/index.js'
import { P2PError } from './errors.js'
import { resolveOptions, type P2POptions, type ResolvedOptions } from './options.js'
import { Host } from './host.js'
import { allowListGater, type GateRecord } from './gater.js'
import { Outbox } from './outbox.js'
import { readTopicStream, type Offence } from './inbox.js'
import { framedLength } from './batch.js'
import { TokenBucket } from './rate-limit.js'
import { PeerScores, DEFAULT_SCORES } from './scores.js'
import { Reconnector } from './reconnector.js'
import { FailureDetector } from './health.js'
import { SYNC_PROTOCOL, serveSync, syncRequest, type SyncHandler } from './sync.js'

export type Topic = 'consensus' | 'tx'
export const TOPICS: readonly Topic[] = ['consensus', 'tx']
export const TOPIC_PROTOCOLS: Record<Topic, string> = {
  consensus: '/bft-ledger/consensus/1.0.0',
  tx: '/bft-ledger/tx/1.0.0'
}
export type PeerEvent = 'peer:connect' | 'peer:disconnect' | 'peer:suspect' | 'peer:alive'
export type MessageHandler = (peerId: string, frame: Uint8Array) => void

const DEDUP_GRACE_MS = 1000
/**
 * After a misbehaviour disconnect the peer is refused this long, so a connection that was
 * still being set up when we cut the peer off cannot keep it connected.
 */
const COOLDOWN_MS = 1000
/**
 * Batches stop growing here (a larger single frame still goes alone, up to maxFrameBytes):
 * 1 MiB already amortises the per-write cost, and smaller writes keep pings and other streams
 * from queueing behind megabytes on the same connection.
 */
const MAX_BATCH_BYTES = 1024 * 1024

/** Sync requests are short exchanges, but a catching-up node may have several in flight. */
const SYNC_MAX_STREAMS = 64

/** Points taken off a peer for each kind of protocol misbehaviour. */
export const PENALTY = { oversized: 40, garbage: 40, rate: 25 } as const

export interface P2PStats {
  refusedConnections: number
  oversizedFrames: number
  garbageStreams: number
  rateLimited: number
  /** Frames dropped from full send queues. */
  queueDropped: number
  /** Frames taken from a queue whose write failed (connection lost mid-write). */
  writeLost: number
  framesIn: number
  framesOut: number
  batchesOut: number
  bytesOut: number
  /** Frames passed to send()/broadcast() for peers that are not allowed. */
  unroutable: number
  /** Frames passed to send()/broadcast() that can never fit maxFrameBytes: logged and dropped. */
  tooLargeDropped: number
}

/**
 * The node's network: authenticated, gated libp2p connections to validators and allowed full
 * nodes; batched topic streams; request/response sync; reconnects; scores and bans; a
 * ping-based failure detector. See docs/p2p.md.
 */
export class P2PNode {
  readonly peerId: string
  private readonly o: ResolvedOptions
  private readonly log: Logger
  private readonly host: Host
  private readonly allowed: Set<string>
  private readonly staticPeers: string[]
  private readonly scores: PeerScores
  private readonly health: FailureDetector
  private readonly reconnector: Reconnector
  private readonly outboxes = new Map<string, Map<Topic, Outbox>>()
  private readonly buckets = new Map<string, TokenBucket>()
  private readonly handlers: Record<Topic, MessageHandler[]> = { consensus: [], tx: [] }
  private readonly listeners = new Map<PeerEvent, Array<(peerId: string) => void>>()
  private readonly connected = new Set<string>()
  private readonly cooldownUntil = new Map<string, number>()
  private syncHandler: SyncHandler | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private running = false
  private readonly counters = { refusedConnections: 0, oversizedFrames: 0, garbageStreams: 0, rateLimited: 0, framesIn: 0, unroutable: 0, tooLargeDropped: 0 }
  // Send counters of outboxes already discarded (stop), so totals never go backwards.
  private readonly retired = { queueDropped: 0, writeLost: 0, framesOut: 0, batchesOut: 0, bytesOut: 0 }

  constructor (opts: P2POptions) {
    this.o = resolveOptions(opts)
    this.log = this.o.logger.child({ module: 'p2p' })
    const kp = keyPairFromSeed(this.o.secretKey)
    const raw = new Uint8Array(64)
    raw.set(kp.secretKey, 0)
    raw.set(kp.publicKey, 32)
    const privateKey = privateKeyFromRaw(raw)
    this.allowed = new Set([...this.o.allowedPeers, ...this.o.peers.map(p => p.peerId)])
    this.scores = new PeerScores({ ...DEFAULT_SCORES, ...this.o.scores }, this.o.now)
    this.host = new Host({
      privateKey,
      logger: this.log,
      gater: allowListGater(id => this.allowed.has(id), id => this.refusedMs(id) > 0, r => { this.onRefused(r) }),
      bootstrap: bootstrapList(this.o.peers.filter(p => p.peerId !== peerIdFromPrivateKey(privateKey).toString())),
      // After the reconnector's first dials (see dialsFirst), so bootstrap usually finds the connection made.
      bootstrapDelayMs: 4 * Math.max(2 * this.o.backoff.baseMs, 250)
    })
    this.peerId = this.host.peerId.toString()
    this.allowed.delete(this.peerId)
    this.staticPeers = this.o.peers.map(p => p.peerId).filter(id => id !== this.peerId)
    this.health = new FailureDetector({
      suspectAfterMs: this.o.suspectAfterMs,
      now: this.o.now,
      onSuspect: id => {
        // Nothing heard for suspectAfterMs, not even a ping reply: the connection is most
        // likely dead without a reset (a partition drops packets, it sends no RST). Abort it so
        // the reconnector dials a fresh one when the peer is reachable again; otherwise requests
        // (block sync) keep timing out on the dead connection.
        this.host.disconnect(id, new P2PError('ERR_PEER_SUSPECTED', `no traffic from ${id} for ${this.o.suspectAfterMs} ms`))
        this.emit('peer:suspect', id)
      },
      onAlive: id => { this.emit('peer:alive', id) }
    })
    this.reconnector = new Reconnector({
      peers: this.o.peers.filter(p => p.peerId !== this.peerId),
      dial: async (id, addr, timeoutMs) => await this.host.dial(id, addr, timeoutMs),
      connected: id => this.host.connections(id).length > 0,
      banRemainingMs: id => this.refusedMs(id),
      backoff: this.o.backoff,
      random: this.o.random,
      // Matches preferred(): the smaller peer id dials, the larger one waits, then dials if needed.
      dialsFirst: id => this.peerId < id,
      yieldMs: Math.max(2 * this.o.backoff.baseMs, 250),
      dialTimeoutMs: this.o.dialTimeoutMs,
      logger: this.log
    })
    this.host.setEvents({
      onConnection: c => { this.onConnection(c) },
      onConnectionClosed: c => { this.onConnectionClosed(c) }
    })
    for (const topic of TOPICS) {
      this.host.handle(TOPIC_PROTOCOLS[topic], (stream, conn) => { this.onTopicStream(topic, stream, conn) })
    }
    this.host.handle(SYNC_PROTOCOL, (stream, conn) => {
      const peer = conn.remotePeer.toString()
      this.health.seen(peer)
      serveSync(stream, peer, this.syncHandler, this.syncLimits(), this.o.dialTimeoutMs * 6, this.log)
    }, { maxInboundStreams: SYNC_MAX_STREAMS, maxOutboundStreams: SYNC_MAX_STREAMS })
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      await this.host.listen(this.o.listen)
    } catch (err) {
      this.running = false
      throw err
    }
    this.reconnector.start()
    this.heartbeat = setInterval(() => { this.tick() }, this.o.heartbeatMs)
    this.log.info({ peerId: this.peerId, addrs: this.addrs(), peers: this.o.peers.length, allowed: this.allowed.size }, 'p2p started')
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearInterval(this.heartbeat)
    this.reconnector.stop()
    for (const peer of this.outboxes.keys()) this.retireOutboxes(peer)
    await this.host.stop()
    this.connected.clear()
    this.log.info({ peerId: this.peerId }, 'p2p stopped')
  }

  addrs (): string[] {
    return this.host.addrs()
  }

  /**
   * Queues `frame` for `peerId`; never blocks. A frame that can never fit a batch is logged,
   * counted (stats().tooLargeDropped) and dropped: its size depends on data (a big
   * transaction batch), so it must not throw into callers that cannot expect it.
   */
  send (peerId: string, topic: Topic, frame: Uint8Array): void {
    if (!this.checkFrame(topic, frame)) return
    if (!this.allowed.has(peerId)) {
      this.counters.unroutable++
      this.log.debug({ peer: peerId, topic }, 'send to a peer that is not allowed: dropped')
      return
    }
    this.outbox(peerId, topic).push(frame)
  }

  /**
   * Queues `frame` for every connected peer and every configured static peer, connected or
   * not: like send(), frames for a static peer that is down wait in its bounded queue. A
   * validator that connects a moment after the others must still get the first proposals.
   * Oversized frames are dropped as in send().
   */
  broadcast (topic: Topic, frame: Uint8Array): void {
    if (!this.checkFrame(topic, frame)) return
    for (const peer of new Set([...this.connected, ...this.staticPeers])) this.outbox(peer, topic).push(frame)
  }

  onMessage (topic: Topic, handler: MessageHandler): void {
    this.handlers[topic].push(handler)
  }

  async request (peerId: string, protocol: 'sync', req: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (protocol !== 'sync') throw new P2PError('ERR_PROTOCOL_UNSUPPORTED', `unknown request protocol "${String(protocol)}"`)
    const conn = this.host.connections(peerId)[0]
    if (conn === undefined) throw new P2PError('ERR_NOT_CONNECTED', `not connected to ${peerId}`)
    const res = await syncRequest(conn, req, this.syncLimits(), timeoutMs)
    this.health.seen(peerId)
    return res
  }

  handle (protocol: 'sync', handler: SyncHandler): void {
    if (protocol !== 'sync') throw new P2PError('ERR_PROTOCOL_UNSUPPORTED', `unknown request protocol "${String(protocol)}"`)
    this.syncHandler = handler
  }

  /** Application-level misbehaviour (bad signature, invalid message...). */
  penalize (peerId: string, reason: string, points = 10): void {
    const banned = this.scores.penalize(peerId, points)
    this.log.warn({ peer: peerId, reason, points, score: this.scores.score(peerId), banned }, 'peer penalized')
    if (banned) this.ban(peerId, reason)
  }

  peers (): PeerView[] {
    const ids = new Set([...this.allowed, ...this.connected])
    return [...ids].sort().map(id => {
      const h = this.health.view(id)
      return {
        peerId: id,
        validator: null,
        connected: this.connected.has(id),
        suspected: h.suspected,
        lastSeenMs: h.lastSeenMs,
        rttMs: h.rttMs === null ? null : Math.round(h.rttMs * 1000) / 1000,
        score: Math.round(this.scores.score(id) * 100) / 100
      }
    })
  }

  on (event: PeerEvent, fn: (peerId: string) => void): void {
    const list = this.listeners.get(event) ?? []
    list.push(fn)
    this.listeners.set(event, list)
  }

  stats (): P2PStats {
    const s: P2PStats = { ...this.counters, ...this.retired }
    for (const topics of this.outboxes.values()) {
      for (const ob of topics.values()) {
        const x = ob.snapshot()
        s.queueDropped += x.dropped
        s.writeLost += x.lost
        s.framesOut += x.frames
        s.batchesOut += x.batches
        s.bytesOut += x.bytes
      }
    }
    return s
  }

  private syncLimits (): { maxRequestBytes: number, maxResponseBytes: number } {
    return { maxRequestBytes: this.o.maxFrameBytes, maxResponseBytes: this.o.maxSyncResponseBytes }
  }

  /** Throws on programming errors (unknown topic, not bytes); false when the frame is too large to ever send. */
  private checkFrame (topic: Topic, frame: Uint8Array): boolean {
    if (this.handlers[topic] === undefined) throw new P2PError('ERR_UNKNOWN_TOPIC', `unknown topic "${String(topic)}"`)
    if (!(frame instanceof Uint8Array)) throw new P2PError('ERR_BAD_FRAME', `frame for topic ${topic} must be a Uint8Array`)
    if (1 + framedLength(frame.byteLength) > this.o.maxFrameBytes) {
      this.counters.tooLargeDropped++
      const err = new P2PError('ERR_FRAME_TOO_LARGE', `${topic} frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${this.o.maxFrameBytes} (with batch overhead)`)
      this.log.error({ topic, bytes: frame.byteLength, maxFrameBytes: this.o.maxFrameBytes, code: err.code, err: err.message }, 'frame too large: dropped')
      return false
    }
    return true
  }

  private outbox (peerId: string, topic: Topic): Outbox {
    let topics = this.outboxes.get(peerId)
    if (topics === undefined) {
      topics = new Map()
      this.outboxes.set(peerId, topics)
    }
    let ob = topics.get(topic)
    if (ob === undefined) {
      ob = new Outbox({
        peerId,
        topic,
        maxBatchBytes: Math.min(this.o.maxFrameBytes, MAX_BATCH_BYTES),
        limits: this.o.sendQueue,
        openStream: async () => await this.openTopicStream(peerId, topic),
        drainTimeoutMs: this.o.dialTimeoutMs * 2,
        logger: this.log
      })
      topics.set(topic, ob)
    }
    return ob
  }

  private retireOutboxes (peerId: string): void {
    const topics = this.outboxes.get(peerId)
    if (topics === undefined) return
    for (const ob of topics.values()) {
      const x = ob.snapshot()
      this.retired.queueDropped += x.dropped
      this.retired.writeLost += x.lost
      this.retired.framesOut += x.frames
      this.retired.batchesOut += x.batches
      this.retired.bytesOut += x.bytes
      ob.stop()
    }
    this.outboxes.delete(peerId)
  }

  private async openTopicStream (peerId: string, topic: Topic): Promise<Stream | undefined> {
    const conn = this.preferred(peerId)
    if (conn === undefined) return undefined
    return await conn.newStream(TOPIC_PROTOCOLS[topic], { signal: AbortSignal.timeout(this.o.dialTimeoutMs) })
  }

  /**
   * With both sides dialing, a pair can end up with two connections. Both sides keep the one
   * dialed by the smaller peer id (a rule both compute alike) and close the other (dedup).
   */
  private preferred (peerId: string): Connection | undefined {
    const conns = this.host.connections(peerId)
    if (conns.length === 0) return undefined
    const wantDir = this.peerId < peerId ? 'outbound' : 'inbound'
    return conns.find(c => c.direction === wantDir) ?? conns[0]
  }

  /** ms the peer is still refused (ban or post-offence cooldown), 0 when welcome. */
  private refusedMs (peerId: string): number {
    const cool = (this.cooldownUntil.get(peerId) ?? 0) - this.o.now()
    return Math.max(0, cool, this.scores.banRemainingMs(peerId))
  }

  private onConnection (conn: Connection): void {
    const peer = conn.remotePeer.toString()
    if (this.refusedMs(peer) > 0) {
      // Passed the gater just before the peer was cut off.
      conn.abort(new P2PError('ERR_PEER_REFUSED', `peer ${peer} is banned or cooling down`))
      return
    }
    this.health.seen(peer)
    if (!this.connected.has(peer)) {
      this.connected.add(peer)
      this.reconnector.onConnect(peer)
      this.log.info({ peer, direction: conn.direction, addr: conn.remoteAddr.toString() }, 'peer connected')
      this.emit('peer:connect', peer)
    }
    for (const ob of this.outboxes.get(peer)?.values() ?? []) ob.kick()
  }

  /**
   * Closes redundant connections to `peer`, but only once the preferred one has been open for
   * DEDUP_GRACE_MS: the remote may not have finished upgrading it yet, and closing the other
   * one earlier would make the remote see a (brief) disconnect.
   */
  private dedup (peer: string): void {
    const conns = this.host.connections(peer)
    if (conns.length < 2) return
    const keep = this.preferred(peer)
    if (keep === undefined || Date.now() - keep.timeline.open < DEDUP_GRACE_MS) return
    for (const c of conns) {
      if (c === keep) continue
      this.log.debug({ peer, conn: c.id, keep: keep.id }, 'closing duplicate connection')
      void c.close().catch(() => {})
    }
  }

  private onConnectionClosed (conn: Connection): void {
    const peer = conn.remotePeer.toString()
    if (this.host.connections(peer).length > 0) {
      for (const ob of this.outboxes.get(peer)?.values() ?? []) ob.kick()
      return
    }
    for (const ob of this.outboxes.get(peer)?.values() ?? []) ob.detach()
    if (this.connected.delete(peer)) {
      this.log.info({ peer }, 'peer disconnected')
      this.emit('peer:disconnect', peer)
    }
    if (this.running) this.reconnector.onDisconnect(peer)
  }

  private onTopicStream (topic: Topic, stream: Stream, conn: Connection): void {
    const peer = conn.remotePeer.toString()
    void readTopicStream(stream, this.o.maxFrameBytes, {
      onFrames: (frames) => {
        this.health.seen(peer)
        if (!this.bucket(peer, topic).take(frames.length)) {
          this.counters.rateLimited++
          this.misbehaved(peer, 'rate', `${topic}: over ${this.o.rateLimit.framesPerSecond} frames/s (burst ${this.o.rateLimit.burst})`, PENALTY.rate)
          stream.abort(new P2PError('ERR_RATE_LIMITED', 'rate limit exceeded'))
          return
        }
        this.counters.framesIn += frames.length
        for (const f of frames) this.deliver(topic, peer, f)
      },
      onOffence: (offence: Offence, detail) => {
        if (offence === 'oversized') this.counters.oversizedFrames++
        else this.counters.garbageStreams++
        this.misbehaved(peer, offence, `${topic}: ${detail}`, PENALTY[offence])
      },
      onEnd: () => {}
    })
  }

  private deliver (topic: Topic, peer: string, frame: Uint8Array): void {
    for (const h of this.handlers[topic]) {
      try {
        h(peer, frame)
      } catch (err) {
        this.log.error({ topic, peer, err: errorMessage(err) }, 'message handler threw')
      }
    }
  }

  private bucket (peer: string, topic: Topic): TokenBucket {
    const key = `${topic}\n${peer}`
    let b = this.buckets.get(key)
    if (b === undefined) {
      b = new TokenBucket(this.o.rateLimit, this.o.now)
      this.buckets.set(key, b)
    }
    return b
  }

  /** Protocol misbehaviour: score down and cut the peer off (it may reconnect unless banned). */
  private misbehaved (peer: string, kind: string, detail: string, points: number): void {
    const banned = this.scores.penalize(peer, points)
    this.log.warn({ peer, kind, detail, points, score: this.scores.score(peer), banned }, 'peer misbehaved: disconnecting')
    if (banned) {
      this.ban(peer, kind)
      return
    }
    this.cooldownUntil.set(peer, this.o.now() + COOLDOWN_MS)
    this.host.disconnect(peer, new P2PError('ERR_PEER_MISBEHAVED', `${kind}: ${detail}`))
  }

  private ban (peer: string, reason: string): void {
    this.log.warn({ peer, reason, banMs: this.scores.banRemainingMs(peer) }, 'peer banned')
    this.host.disconnect(peer, new P2PError('ERR_PEER_BANNED', `banned: ${reason}`))
  }

  private onRefused (r: GateRecord): void {
    this.counters.refusedConnections++
    this.log.warn({ peer: r.peerId, direction: r.direction, reason: r.reason }, 'connection refused by gater')
  }

  private tick (): void {
    if (!this.running) return
    for (const peer of this.connected) {
      const conn = this.preferred(peer)
      this.dedup(peer)
      if (conn === undefined || !this.health.beginPing(peer)) continue
      this.host.ping(peer, Math.max(this.o.heartbeatMs, 1000))
        .then(rtt => { this.health.seen(peer, rtt) })
        .catch(err => { this.log.debug({ peer, err: errorMessage(err) }, 'ping failed') })
        .finally(() => { this.health.endPing(peer) })
      for (const ob of this.outboxes.get(peer)?.values() ?? []) ob.kick()
    }
    this.health.check(new Set([...this.allowed, ...this.connected]))
    this.reconnector.ensure()
  }

  private emit (event: PeerEvent, peerId: string): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(peerId)
      } catch (err) {
        this.log.error({ event, peer: peerId, err: errorMessage(err) }, 'p2p event listener threw')
      }
    }
  }
}

/** `<addr>/p2p/<peerId>` for every static peer address, as @libp2p/bootstrap wants them. */
function bootstrapList (peers: Array<{ peerId: string, addrs: string[] }>): string[] {
  return peers.flatMap(p => p.addrs.map(a => a.includes('/p2p/') ? a : `${a}/p2p/${p.peerId}`))
}
