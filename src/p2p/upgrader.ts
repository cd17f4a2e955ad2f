import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P } from '@multiformats/multiaddr'
import type {
  ClearableSignal, ComponentLogger, Connection, ConnectionEncrypter, ConnectionGater, MessageStream,
  MultiaddrConnection, PeerId, PrivateKey, StreamMuxerFactory, Upgrader as UpgraderInterface, UpgraderOptions
} from '@libp2p/interface'
import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import { P2PError } from './errors.js'
import { select, handle } from './multistream.js'
import { PeerConnection, type ProtocolTable } from './connection.js'

export interface UpgraderInit {
  privateKey: PrivateKey
  peerId: PeerId
  gater: ConnectionGater
  table: ProtocolTable
  componentLogger: ComponentLogger
  logger: Logger
  /** Called with every connection that passed encryption, the gater and muxing. */
  onConnection: (conn: PeerConnection) => void
  /** False while the host is stopping: inbound sockets are dropped before the handshake. */
  accepting: () => boolean
  upgradeTimeoutMs: number
  negotiationTimeoutMs: number
}

/**
 * Turns a raw TCP connection into a PeerConnection: multistream-select -> Noise (XX, which
 * authenticates the remote's ed25519 identity) -> connection gater -> yamux. It is the part of
 * the `libp2p` package we need (that package is not installed here); the order of checks is
 * libp2p's, so the gater refuses a peer before any application protocol can run.
 */
export class Upgrader implements UpgraderInterface {
  private readonly init: UpgraderInit
  private readonly encrypter: ConnectionEncrypter
  private readonly muxers: Map<string, StreamMuxerFactory>
  private nextId = 0

  constructor (init: UpgraderInit) {
    this.init = init
    const muxer = yamux()()
    this.muxers = new Map([[muxer.protocol, muxer]])
    this.encrypter = noise()({ peerId: init.peerId, privateKey: init.privateKey, logger: init.componentLogger, upgrader: this })
  }

  /** Upgrade deadline for inbound connections; clear() disarms it once the upgrade is done. */
  createInboundAbortSignal (signal: AbortSignal): ClearableSignal {
    const ctrl = new AbortController()
    const timer = setTimeout(() => { ctrl.abort(new P2PError('ERR_UPGRADE_TIMEOUT', `inbound upgrade took over ${this.init.upgradeTimeoutMs} ms`)) }, this.init.upgradeTimeoutMs)
    const onAbort = (): void => { ctrl.abort(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    const out = ctrl.signal as ClearableSignal
    out.clear = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    }
    return out
  }

  getStreamMuxers (): Map<string, StreamMuxerFactory> { return this.muxers }

  getConnectionEncrypters (): Map<string, ConnectionEncrypter> {
    return new Map([[this.encrypter.protocol, this.encrypter]])
  }

  async upgradeInbound (maConn: MultiaddrConnection, opts: UpgraderOptions): Promise<void> {
    if (!this.init.accepting()) {
      const err = new P2PError('ERR_STOPPED', 'p2p host is stopping')
      maConn.abort(err)
      throw err
    }
    const signal = this.createInboundAbortSignal(opts.signal)
    try {
      if (this.init.gater.denyInboundConnection !== undefined && await this.init.gater.denyInboundConnection(maConn)) {
        throw new P2PError('ERR_CONNECTION_DENIED', `inbound connection from ${maConn.remoteAddr.toString()} refused by gater`)
      }
      await this.upgrade(maConn, 'inbound', signal)
    } finally {
      signal.clear()
    }
  }

  async upgradeOutbound (maConn: MultiaddrConnection, opts: UpgraderOptions): Promise<Connection> {
    const conn = await this.upgrade(maConn, 'outbound', opts.signal)
    // The TCP transport types its result as libp2p's Connection; our callers only ever see
    // PeerConnection, which Host.dial takes back out of this cast.
    return conn as unknown as Connection
  }

  private async upgrade (maConn: MultiaddrConnection, direction: 'inbound' | 'outbound', signal: AbortSignal): Promise<PeerConnection> {
    const expected = expectedPeer(maConn)
    const { gater } = this.init
    let remote: PeerId
    let stream: MessageStream
    let muxerFactory: StreamMuxerFactory | undefined
    try {
      if (direction === 'outbound') {
        if (expected !== undefined && gater.denyOutboundConnection !== undefined && await gater.denyOutboundConnection(expected, maConn)) {
          throw new P2PError('ERR_CONNECTION_DENIED', `outbound connection to ${expected.toString()} refused by gater`)
        }
        await select(maConn, [this.encrypter.protocol], { signal })
        const secured = await this.encrypter.secureOutbound(maConn, { signal, remotePeer: expected })
        ;({ connection: stream, remotePeer: remote, streamMuxer: muxerFactory } = secured)
      } else {
        await handle(maConn, [this.encrypter.protocol], { signal })
        const secured = await this.encrypter.secureInbound(maConn, { signal })
        ;({ connection: stream, remotePeer: remote, streamMuxer: muxerFactory } = secured)
      }
      if (remote.equals(this.init.peerId)) throw new P2PError('ERR_DIAL_SELF', 'remote peer is ourselves')
      const deny = direction === 'inbound' ? gater.denyInboundEncryptedConnection : gater.denyOutboundEncryptedConnection
      if (deny !== undefined && await deny.call(gater, remote, maConn)) {
        throw new P2PError('ERR_CONNECTION_DENIED', `${direction} connection with ${remote.toString()} refused by gater`)
      }
      if (muxerFactory === undefined) {
        const protocols = [...this.muxers.keys()]
        const chosen = direction === 'outbound'
          ? await select(stream, protocols, { signal })
          : await handle(stream, protocols, { signal })
        muxerFactory = this.muxers.get(chosen)
      }
      if (muxerFactory === undefined) throw new P2PError('ERR_MUXER', 'no stream muxer agreed')
    } catch (err) {
      this.init.logger.debug({ direction, addr: maConn.remoteAddr.toString(), err: errorMessage(err) }, 'connection upgrade failed')
      maConn.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
    const conn = new PeerConnection({
      id: `${direction[0]}${++this.nextId}`,
      remotePeer: remote.toString(),
      direction,
      maConn,
      muxer: muxerFactory.createStreamMuxer(stream),
      table: this.init.table,
      negotiationTimeoutMs: this.init.negotiationTimeoutMs,
      logger: this.init.logger
    })
    this.init.onConnection(conn)
    return conn
  }
}

function expectedPeer (maConn: MultiaddrConnection): PeerId | undefined {
  const id = maConn.remoteAddr.getComponents().findLast(c => c.code === CODE_P2P)?.value
  return id === undefined ? undefined : peerIdFromString(id)
}
