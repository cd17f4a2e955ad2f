import { randomBytes } from 'node:crypto'
import { byteStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { P2PError } from './errors.js'
import type { PeerConnection } from './connection.js'

/**
 * libp2p's ping protocol (same id and wire behaviour as @libp2p/ping: the dialer sends 32
 * random bytes, the listener echoes them). @libp2p/ping itself needs the registrar and
 * connection manager of the `libp2p` package, which is not installed here.
 */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32

/** Listener side: echo every 32-byte chunk until the dialer closes. */
export function handlePing (stream: Stream): void {
  void (async () => {
    try {
      const bytes = byteStream(stream, { maxBufferSize: PING_LENGTH * 4 })
      for (let i = 0; i < 1024; i++) {
        const buf = await bytes.read({ bytes: PING_LENGTH, signal: AbortSignal.timeout(30_000) })
        await bytes.write(buf)
      }
      await stream.close()
    } catch {
      stream.abort(new P2PError('ERR_PING', 'ping stream ended'))
    }
  })()
}

/** One round trip on a new stream; resolves with the RTT in ms. */
export async function ping (conn: PeerConnection, timeoutMs: number): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await conn.newStream(PING_PROTOCOL, signal)
  try {
    const bytes = byteStream(stream)
    const data = randomBytes(PING_LENGTH)
    const start = performance.now()
    await bytes.write(data, { signal })
    const echo = (await bytes.read({ bytes: PING_LENGTH, signal })).subarray()
    const rtt = performance.now() - start
    if (!Buffer.from(echo).equals(data)) throw new P2PError('ERR_PING', `ping echo from ${conn.remotePeer} did not match`)
    await stream.close({ signal }).catch(() => {})
    return rtt
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
