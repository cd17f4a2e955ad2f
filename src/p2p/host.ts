import { tcp } from '@libp2p/tcp'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionGater, Listener, PeerId, PrivateKey, Transport } from '@libp2p/interface'
import type { Logger } from '../log.js'
import { ConfigError, errorMessage } from '../errors.js'
import { P2PError } from './errors.js'
import { componentLogger } from './component-logger.js'
import { Upgrader } from './upgrader.js'
import type { PeerConnection, StreamHandler } from './connection.js'

export interface HostInit {
  privateKey: PrivateKey
  gater: ConnectionGater
  logger: Logger
  upgradeTimeoutMs?: number
  negotiationTimeoutMs?: number
}

export interface HostEvents {
  onConnection: (conn: PeerConnection) => void
  onConnectionClosed: (conn: PeerConnection) => void
}

/**
 * A minimal libp2p host: TCP transport, Noise, yamux, multistream-select protocol handlers
 * and a connection table. It knows nothing about topics, scores or reconnects (node.ts).
 */
export class Host {
  readonly peerId: PeerId
  private readonly transport: Transport
  private readonly upgrader: Upgrader
  private readonly listeners: Listener[] = []
  private readonly handlers = new Map<string, StreamHandler>()
  private readonly conns = new Map<string, Set<PeerConnection>>()
  private readonly logger: Logger
  private events: HostEvents = { onConnection: () => {}, onConnectionClosed: () => {} }
  private running = false

  constructor (init: HostInit) {
    this.logger = init.logger
    this.peerId = peerIdFromPrivateKey(init.privateKey)
    const clog = componentLogger(init.logger)
    this.transport = tcp()({ logger: clog })
    this.upgrader = new Upgrader({
      privateKey: init.privateKey,
      peerId: this.peerId,
      gater: init.gater,
      componentLogger: clog,
      logger: init.logger,
      table: {
        protocols: () => [...this.handlers.keys()],
        handler: (p) => this.handlers.get(p)
      },
      onConnection: (conn) => { this.track(conn) },
      accepting: () => this.running,
      upgradeTimeoutMs: init.upgradeTimeoutMs ?? 5000,
      negotiationTimeoutMs: init.negotiationTimeoutMs ?? 5000
    })
  }

  setEvents (events: HostEvents): void { this.events = events }

  handle (protocol: string, handler: StreamHandler): void {
    this.handlers.set(protocol, handler)
  }

  async listen (addrs: string[]): Promise<void> {
    this.running = true
    for (const a of addrs) {
      let ma: Multiaddr
      try {
        ma = multiaddr(a)
      } catch (err) {
        throw new ConfigError(`p2p listen address "${a}" is not a multiaddr: ${errorMessage(err)}`)
      }
      const listener = this.transport.createListener({ upgrader: this.upgrader })
      listener.addEventListener('error', (evt) => {
        this.logger.warn({ addr: a, err: errorMessage(evt.detail) }, 'p2p listener error')
      })
      try {
        await listener.listen(ma)
      } catch (err) {
        await Promise.all(this.listeners.splice(0).map(async l => { await withDeadline(l.close(), 1000) }))
        this.running = false
        throw new P2PError('ERR_LISTEN', `cannot listen on ${a}: ${errorMessage(err)}`)
      }
      this.listeners.push(listener)
    }
  }

  addrs (): string[] {
    return this.listeners.flatMap(l => l.getAddrs()).map(ma => `${ma.toString()}/p2p/${this.peerId.toString()}`)
  }

  /** Dials one address of `peerId`; the Noise handshake fails unless the remote proves that identity. */
  async dial (peerId: string, addr: string, timeoutMs: number): Promise<PeerConnection> {
    if (!this.running) throw new P2PError('ERR_NOT_STARTED', 'p2p host is not running')
    let ma = multiaddr(addr)
    if (!ma.toString().includes('/p2p/')) ma = ma.encapsulate(`/p2p/${peerId}`)
    // The TCP transport hands this signal to net.connect, which ties it to the socket for the
    // socket's whole life: a plain AbortSignal.timeout would kill the connection timeoutMs
    // after the dial. So the timer is cleared once the dial has settled.
    const ctrl = new AbortController()
    const timer = setTimeout(() => { ctrl.abort(new P2PError('ERR_DIAL_TIMEOUT', `dial to ${peerId} at ${addr} timed out after ${timeoutMs} ms`)) }, timeoutMs)
    try {
      const conn = await this.transport.dial(ma, { signal: ctrl.signal, upgrader: this.upgrader })
      return conn as unknown as PeerConnection
    } finally {
      clearTimeout(timer)
    }
  }

  connections (peerId: string): PeerConnection[] {
    return [...(this.conns.get(peerId) ?? [])].filter(c => c.open)
  }

  connectedPeers (): string[] {
    return [...this.conns.keys()].filter(p => this.connections(p).length > 0)
  }

  /** Closes every connection to `peerId`, abruptly when `err` is given. */
  disconnect (peerId: string, err?: Error): void {
    for (const c of this.conns.get(peerId) ?? []) {
      if (err !== undefined) c.abort(err)
      else void c.close()
    }
  }

  async stop (): Promise<void> {
    this.running = false
    // Connections first, gracefully, so frames already queued on streams still go out.
    const all = [...this.conns.values()].flatMap(set => [...set])
    await Promise.all(all.map(async c => { await withDeadline(c.close(500), 1000) }))
    for (const c of all) if (c.open) c.abort(new P2PError('ERR_STOPPED', 'p2p host stopped'))
    await Promise.all(this.listeners.splice(0).map(async l => { await withDeadline(l.close(), 1000) }))
    this.conns.clear()
  }

  private track (conn: PeerConnection): void {
    if (!this.running) {
      conn.abort(new P2PError('ERR_NOT_STARTED', 'p2p host is stopping'))
      return
    }
    let set = this.conns.get(conn.remotePeer)
    if (set === undefined) {
      set = new Set()
      this.conns.set(conn.remotePeer, set)
    }
    set.add(conn)
    this.logger.debug({ peer: conn.remotePeer, conn: conn.id, direction: conn.direction }, 'connection open')
    conn.onClose(() => {
      this.logger.debug({ peer: conn.remotePeer, conn: conn.id, direction: conn.direction }, 'connection closed')
      const s = this.conns.get(conn.remotePeer)
      s?.delete(conn)
      if (s !== undefined && s.size === 0) this.conns.delete(conn.remotePeer)
      this.events.onConnectionClosed(conn)
    })
    this.events.onConnection(conn)
  }
}

/**
 * Waits for `p` at most `ms`. The timer is a ref'd setTimeout on purpose: AbortSignal.timeout
 * does not keep the process alive, and a close that waits on a peer in the same process
 * could otherwise leave the event loop empty with the promise unsettled.
 */
async function withDeadline (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    p.catch(() => {}),
    new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })
  ])
  clearTimeout(timer)
}
