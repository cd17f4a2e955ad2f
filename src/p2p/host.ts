import { createLibp2p, type Libp2p } from 'libp2p'
import { coalescingTcp } from './coalesce.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { bootstrap } from '@libp2p/bootstrap'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, ConnectionGater, PeerId, PrivateKey, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { Logger } from '../log.js'
import { ConfigError, errorMessage } from '../errors.js'
import { P2PError } from './errors.js'
import { componentLogger } from './component-logger.js'
import { installYamuxWindowThreshold } from './yamux-window.js'
import { installLengthPrefixedDecoderFastPath } from './lp-decoder.js'

installYamuxWindowThreshold()
installLengthPrefixedDecoderFastPath()

export type StreamHandler = (stream: Stream, conn: Connection) => void

export interface HostInit {
  privateKey: PrivateKey
  gater: ConnectionGater
  logger: Logger
  /** Static peers, `<addr>/p2p/<peerId>`: handed to @libp2p/bootstrap, which dials them once at start. */
  bootstrap: string[]
  /** ms before the bootstrap dial; our reconnector normally has connected by then. */
  bootstrapDelayMs: number
}

export interface HostEvents {
  onConnection: (conn: Connection) => void
  onConnectionClosed: (conn: Connection) => void
}

interface Services extends Record<string, unknown> {
  identify: Identify
  ping: Ping
}

/**
 * A createLibp2p node (TCP, Noise, yamux, identify, ping, bootstrap) behind the few calls
 * node.ts needs. It knows nothing about topics, scores or reconnects (node.ts).
 */
export class Host {
  readonly peerId: PeerId
  private readonly init: HostInit
  private readonly handlers = new Map<string, { handler: StreamHandler, options: StreamHandlerOptions }>()
  private node: Libp2p<Services> | undefined
  private events: HostEvents = { onConnection: () => {}, onConnectionClosed: () => {} }

  constructor (init: HostInit) {
    this.init = init
    this.peerId = peerIdFromPrivateKey(init.privateKey)
  }

  setEvents (events: HostEvents): void { this.events = events }

  /** Registers a protocol handler; takes effect at listen(). */
  handle (protocol: string, handler: StreamHandler, options: StreamHandlerOptions = {}): void {
    this.handlers.set(protocol, { handler, options })
  }

  async listen (addrs: string[]): Promise<void> {
    for (const a of addrs) {
      try {
        multiaddr(a)
      } catch (err) {
        throw new ConfigError(`p2p listen address "${a}" is not a multiaddr: ${errorMessage(err)}`)
      }
    }
    const node = await createLibp2p<Services>({
      privateKey: this.init.privateKey,
      addresses: { listen: addrs },
      transports: [coalescingTcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: this.init.gater,
      // @libp2p/bootstrap refuses an empty list (a node that only accepts connections).
      peerDiscovery: this.init.bootstrap.length > 0 ? [bootstrap({ list: this.init.bootstrap, timeout: this.init.bootstrapDelayMs })] : [],
      logger: componentLogger(this.init.logger),
      connectionManager: {
        // Every validator of a local testnet dials from 127.0.0.1, and restarts redial quickly:
        // libp2p's per-host inbound rate limit (5/s) would refuse legitimate reconnects. The
        // gater already refuses everyone who is not allowed.
        inboundConnectionThreshold: 1000,
        maxIncomingPendingConnections: 100
      },
      // libp2p's monitor aborts a connection whose ping is late; under bulk transfer pings queue
      // behind data and that would cut healthy peers. node.ts pings (@libp2p/ping) for the
      // failure detector instead, which suspects but never disconnects.
      connectionMonitor: { enabled: false },
      services: { identify: identify(), ping: ping() },
      start: false
    })
    node.addEventListener('connection:open', (evt) => {
      const conn = evt.detail
      this.init.logger.debug({ peer: conn.remotePeer.toString(), conn: conn.id, direction: conn.direction }, 'connection open')
      this.events.onConnection(conn)
    })
    node.addEventListener('connection:close', (evt) => {
      const conn = evt.detail
      this.init.logger.debug({ peer: conn.remotePeer.toString(), conn: conn.id, direction: conn.direction }, 'connection closed')
      this.events.onConnectionClosed(conn)
    })
    for (const [protocol, h] of this.handlers) {
      await node.handle(protocol, (stream, conn) => { h.handler(stream, conn) }, h.options)
    }
    try {
      await node.start()
    } catch (err) {
      await withDeadline(Promise.resolve(node.stop()), 1000)
      throw new P2PError('ERR_LISTEN', `cannot listen on ${addrs.join(', ')}: ${errorMessage(err)}`)
    }
    this.node = node
  }

  addrs (): string[] {
    return this.node?.getMultiaddrs().map(ma => ma.toString()) ?? []
  }

  /** Dials one address of `peerId`; the Noise handshake fails unless the remote proves that identity. */
  async dial (peerId: string, addr: string, timeoutMs: number): Promise<Connection> {
    const node = this.node
    if (node === undefined) throw new P2PError('ERR_NOT_STARTED', 'p2p host is not running')
    let ma: Multiaddr = multiaddr(addr)
    if (!ma.toString().includes('/p2p/')) ma = ma.encapsulate(`/p2p/${peerId}`)
    // The TCP transport hands the dial signal to net.connect, which ties it to the socket for
    // the socket's whole life: a plain AbortSignal.timeout would kill the connection timeoutMs
    // after the dial. So the timer is cleared once the dial has settled.
    const ctrl = new AbortController()
    const timer = setTimeout(() => { ctrl.abort(new P2PError('ERR_DIAL_TIMEOUT', `dial to ${peerId} at ${addr} timed out after ${timeoutMs} ms`)) }, timeoutMs)
    try {
      return await node.dial(ma, { signal: ctrl.signal })
    } finally {
      clearTimeout(timer)
    }
  }

  connections (peerId: string): Connection[] {
    if (this.node === undefined) return []
    return this.node.getConnections(peerIdFromString(peerId)).filter(c => c.status === 'open')
  }

  /** One ping round trip (@libp2p/ping) over an existing connection; resolves with the RTT in ms. */
  async ping (peerId: string, timeoutMs: number): Promise<number> {
    const node = this.node
    if (node === undefined) throw new P2PError('ERR_NOT_STARTED', 'p2p host is not running')
    return await node.services.ping.ping(peerIdFromString(peerId), { signal: AbortSignal.timeout(timeoutMs) })
  }

  /** Closes every connection to `peerId`, abruptly when `err` is given. */
  disconnect (peerId: string, err?: Error): void {
    for (const c of this.connections(peerId)) {
      if (err !== undefined) c.abort(err)
      else void c.close().catch(() => {})
    }
  }

  async stop (): Promise<void> {
    const node = this.node
    this.node = undefined
    if (node === undefined) return
    await withDeadline(Promise.resolve(node.stop()), 3000)
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
