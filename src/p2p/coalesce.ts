import { Socket } from 'node:net'
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import type { CreateListenerOptions, DialTransportOptions, Listener, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** AbstractMultiaddrConnection's protected write hook (what @libp2p/tcp implements). */
type SendData = (data: Iterable<Uint8Array>) => unknown

/**
 * Makes everything written to this connection's TCP socket in one turn of the event loop leave
 * in one writev. Noise writes each message as two buffers (length, ciphertext) and yamux sends
 * a frame's header and body as two messages, and @libp2p/tcp writes every buffer on its own:
 * one consensus vote to one peer was four write syscalls. strace of a validator at 100 tx/s
 * counted ~1,900 write calls a second, most of them 2 or 28 bytes.
 *
 * Corking keeps Node's backpressure: socket.write still returns false past the high-water mark
 * and 'drain' still follows the uncork that flushed it.
 */
export function coalesceWrites (maConn: MultiaddrConnection): void {
  const socket = (maConn as { socket?: unknown }).socket
  if (!(socket instanceof Socket)) return
  const conn = maConn as unknown as { sendData: SendData }
  const send = conn.sendData.bind(conn)
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  conn.sendData = (data) => {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return send(data)
  }
}

/** The upgrader with coalesceWrites applied to every raw connection before it is upgraded. */
function coalescingUpgrader (upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop, receiver) {
      if (prop === 'upgradeInbound' || prop === 'upgradeOutbound') {
        const fn = target[prop] as (maConn: MultiaddrConnection, opts: unknown) => Promise<unknown>
        return async (maConn: MultiaddrConnection, opts: unknown) => {
          coalesceWrites(maConn)
          return await fn.call(target, maConn, opts)
        }
      }
      const v: unknown = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    }
  })
}

/** @libp2p/tcp with per-turn write coalescing on every connection it dials or accepts. */
export function coalescingTcp (init?: TCPOptions): (components: TCPComponents) => Transport {
  const factory = tcp(init)
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma: Multiaddr, options: DialTransportOptions) => await dial(ma, { ...options, upgrader: coalescingUpgrader(options.upgrader) })
    transport.createListener = (options: CreateListenerOptions): Listener => createListener({ ...options, upgrader: coalescingUpgrader(options.upgrader) })
    return transport
  }
}
