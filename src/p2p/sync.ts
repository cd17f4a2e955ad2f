import { lpStream } from '@libp2p/utils'
import type { Connection, Stream } from '@libp2p/interface'
import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import { P2PError } from './errors.js'

export const SYNC_PROTOCOL = '/bft-ledger/sync/1.0.0'

/**
 * Request/response, one exchange per stream:
 *   request  := lp(bytes)                       (≤ maxRequestBytes)
 *   response := lp(0x00 ‖ bytes)                 success (≤ maxResponseBytes + 1)
 *             | lp(0x01 ‖ utf8 error message)    the handler failed
 */
const OK = 0
const FAILED = 1

export type SyncHandler = (peerId: string, req: Uint8Array) => Promise<Uint8Array>

export interface SyncLimits {
  maxRequestBytes: number
  maxResponseBytes: number
}

export async function syncRequest (conn: Connection, req: Uint8Array, limits: SyncLimits, timeoutMs: number): Promise<Uint8Array> {
  if (req.byteLength > limits.maxRequestBytes) {
    throw new P2PError('ERR_SYNC_TOO_LARGE', `sync request is ${req.byteLength} bytes, limit ${limits.maxRequestBytes}`)
  }
  const signal = AbortSignal.timeout(timeoutMs)
  let stream: Stream | undefined
  try {
    stream = await conn.newStream(SYNC_PROTOCOL, { signal })
    const s = lpStream(stream, { maxDataLength: limits.maxResponseBytes + 1 })
    await s.write(req, { signal })
    const res = (await s.read({ signal })).subarray()
    await stream.close({ signal }).catch(() => {})
    if (res.byteLength === 0) throw new P2PError('ERR_SYNC_BAD_RESPONSE', `empty sync response from ${conn.remotePeer}`)
    if (res[0] === OK) return res.subarray(1)
    if (res[0] === FAILED) throw new P2PError('ERR_SYNC_REMOTE', `peer ${conn.remotePeer} failed the sync request: ${new TextDecoder().decode(res.subarray(1, 513))}`)
    throw new P2PError('ERR_SYNC_BAD_RESPONSE', `sync response from ${conn.remotePeer} has unknown status ${res[0]}`)
  } catch (err) {
    stream?.abort(err instanceof Error ? err : new Error(String(err)))
    if (err instanceof P2PError) throw err
    if (signal.aborted) throw new P2PError('ERR_SYNC_TIMEOUT', `sync request to ${conn.remotePeer} timed out after ${timeoutMs} ms`)
    const code = (err as { code?: unknown }).code
    if (code === 'ERR_MSG_DATA_TOO_LONG') throw new P2PError('ERR_SYNC_TOO_LARGE', `sync response from ${conn.remotePeer} exceeds ${limits.maxResponseBytes} bytes`)
    throw new P2PError('ERR_SYNC_FAILED', `sync request to ${conn.remotePeer} failed: ${errorMessage(err)}`)
  }
}

export function serveSync (stream: Stream, peerId: string, handler: SyncHandler | undefined, limits: SyncLimits, timeoutMs: number, logger: Logger): void {
  void (async () => {
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      const s = lpStream(stream, { maxDataLength: limits.maxRequestBytes })
      const req = (await s.read({ signal })).subarray()
      let res: Uint8Array
      try {
        if (handler === undefined) throw new P2PError('ERR_SYNC_UNAVAILABLE', 'this node serves no sync requests')
        const body = await handler(peerId, req)
        if (body.byteLength > limits.maxResponseBytes) {
          throw new P2PError('ERR_SYNC_TOO_LARGE', `response is ${body.byteLength} bytes, limit ${limits.maxResponseBytes}`)
        }
        res = new Uint8Array(body.byteLength + 1)
        res[0] = OK
        res.set(body, 1)
      } catch (err) {
        const msg = new TextEncoder().encode(errorMessage(err).slice(0, 512))
        res = new Uint8Array(msg.byteLength + 1)
        res[0] = FAILED
        res.set(msg, 1)
        logger.debug({ peer: peerId, err: errorMessage(err) }, 'sync handler failed')
      }
      await s.write(res, { signal })
      await stream.close({ signal })
    } catch (err) {
      logger.debug({ peer: peerId, err: errorMessage(err) }, 'sync stream failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })()
}
