import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../log.js'
import type { BlockView, NodeService } from '../node/service.js'

export interface SseOptions {
  heartbeatMs: number
  /** A client that lets this many bytes pile up unread is dropped rather than buffered without bound. */
  maxBufferedBytes: number
}

/**
 * Server-sent events of committed blocks. Each stream subscribes to service.onBlock and is
 * torn down (unsubscribe, timer cleared) when the client disconnects or the server closes.
 */
export class BlockStreams {
  private readonly open = new Set<() => void>()

  constructor (private readonly service: NodeService, private readonly opts: SseOptions, private readonly log: Logger) {}

  get size (): number {
    return this.open.size
  }

  handle (req: FastifyRequest, reply: FastifyReply): void {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no'
    })
    res.write(`retry: 2000\n: connected\n\n`)
    let closed = false
    const close = (): void => {
      if (closed) return
      closed = true
      unsubscribe()
      clearInterval(timer)
      this.open.delete(close)
      if (!res.writableEnded) res.end()
      // The stream owns its connection: once it ends, nothing else will use the socket, and
      // leaving it open would hold up server.close() until keep-alive expiry.
      req.raw.socket?.destroySoon?.()
    }
    const send = (chunk: string): void => {
      if (closed) return
      if (res.writableLength > this.opts.maxBufferedBytes) {
        this.log.warn({ remote: req.ip }, 'dropping slow /events client')
        close()
        req.raw.destroy()
        return
      }
      res.write(chunk)
    }
    const unsubscribe = this.service.onBlock((block: BlockView) => {
      send(`event: block\nid: ${block.height}\ndata: ${JSON.stringify(block)}\n\n`)
    })
    const timer = setInterval(() => send(`: heartbeat ${Date.now()}\n\n`), this.opts.heartbeatMs)
    timer.unref()
    this.open.add(close)
    res.on('close', close)
    res.on('error', close)
  }

  closeAll (): void {
    for (const close of [...this.open]) close()
  }
}
