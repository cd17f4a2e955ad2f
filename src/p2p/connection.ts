import type { Multiaddr } from '@multiformats/multiaddr'
import type { MultiaddrConnection, Stream, StreamMuxer } from '@libp2p/interface'
import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import { P2PError } from './errors.js'
import { select, handle } from './multistream.js'

export type StreamHandler = (stream: Stream, conn: PeerConnection) => void

/** Where a connection finds the handler for a protocol an inbound stream asks for. */
export interface ProtocolTable {
  protocols: () => string[]
  handler: (protocol: string) => StreamHandler | undefined
}

export interface PeerConnectionInit {
  id: string
  remotePeer: string
  direction: 'inbound' | 'outbound'
  maConn: MultiaddrConnection
  muxer: StreamMuxer
  table: ProtocolTable
  negotiationTimeoutMs: number
  logger: Logger
}

/**
 * One upgraded (Noise-encrypted, yamux-multiplexed) connection to an authenticated peer.
 * It negotiates a protocol on every stream with multistream-select, as libp2p does.
 */
export class PeerConnection {
  readonly id: string
  readonly remotePeer: string
  readonly direction: 'inbound' | 'outbound'
  readonly remoteAddr: Multiaddr
  readonly openedAt = Date.now()
  private readonly maConn: MultiaddrConnection
  private readonly muxer: StreamMuxer
  private readonly table: ProtocolTable
  private readonly negotiationTimeoutMs: number
  private readonly logger: Logger
  private readonly closeListeners: Array<() => void> = []
  private closed = false

  constructor (init: PeerConnectionInit) {
    this.id = init.id
    this.remotePeer = init.remotePeer
    this.direction = init.direction
    this.maConn = init.maConn
    this.remoteAddr = init.maConn.remoteAddr
    this.muxer = init.muxer
    this.table = init.table
    this.negotiationTimeoutMs = init.negotiationTimeoutMs
    this.logger = init.logger
    this.muxer.addEventListener('stream', (evt) => { void this.onInbound(evt.detail) })
    this.maConn.addEventListener('close', (evt) => {
      if (evt.error !== undefined) this.logger.debug({ peer: this.remotePeer, conn: this.id, local: evt.local, err: errorMessage(evt.error) }, 'connection ended with error')
      this.markClosed()
    })
  }

  get open (): boolean {
    return !this.closed && this.maConn.status === 'open' && this.muxer.status === 'open'
  }

  onClose (fn: () => void): void {
    if (this.closed) fn()
    else this.closeListeners.push(fn)
  }

  async newStream (protocol: string, signal?: AbortSignal): Promise<Stream> {
    if (!this.open) throw new P2PError('ERR_CONNECTION_CLOSED', `connection ${this.id} to ${this.remotePeer} is closed`)
    const s = signal ?? AbortSignal.timeout(this.negotiationTimeoutMs)
    const stream = await this.muxer.createStream()
    try {
      stream.protocol = await select(stream, [protocol], { signal: s })
      return stream
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  /** Graceful close: lets queued stream writes go out first, bounded by timeoutMs. */
  async close (timeoutMs = 1000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      await this.muxer.close({ signal })
      await this.maConn.close({ signal })
    } catch (err) {
      this.abort(err instanceof Error ? err : new Error(String(err)))
    }
    this.markClosed()
  }

  abort (err: Error): void {
    this.muxer.abort(err)
    this.maConn.abort(err)
    this.markClosed()
  }

  private markClosed (): void {
    if (this.closed) return
    this.closed = true
    for (const fn of this.closeListeners.splice(0)) {
      try { fn() } catch (err) { this.logger.error({ err: errorMessage(err) }, 'connection close listener failed') }
    }
  }

  private async onInbound (stream: Stream): Promise<void> {
    try {
      const protocol = await handle(stream, this.table.protocols(), { signal: AbortSignal.timeout(this.negotiationTimeoutMs) })
      stream.protocol = protocol
      const handler = this.table.handler(protocol)
      if (handler === undefined) throw new P2PError('ERR_PROTOCOL_UNSUPPORTED', `no handler for ${protocol}`)
      handler(stream, this)
    } catch (err) {
      this.logger.debug({ peer: this.remotePeer, err: errorMessage(err) }, 'inbound stream negotiation failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
}
