import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../log.js'
import type { BlockView, NodeService } from '../node/service.js'

export interface SseOptions {
  heartbeatMs: number
  /** A client that lets this many bytes pile up unread is dropped rather than buffered without bound. */
  maxBufferedBytes: number
  /** Most blocks replayed to a resuming client; older ones it must fetch with GET /blocks/:height. */
  maxReplay: number
}

/**
 * Server-sent events of committed blocks. Each stream subscribes to service.onBlock and is
 * torn down (unsubscribe, timer cleared) when the client disconnects or the server closes.
 * A client that reconnects with Last-Event-ID (or asks ?from=H) first gets the blocks it
 * missed, then the live ones, with no gap and no repeat.
 */
export class BlockStreams {
  private readonly open = new Set<() => void>()

  constructor (private readonly service: NodeService, private readonly opts: SseOptions, private readonly log: Logger) {}

  get size (): number {
    return this.open.size
  }

  /** `from`: first height the client wants replayed, if any. */
  handle (req: FastifyRequest, reply: FastifyReply, from: number | undefined): void {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no'
    })
    res.write('retry: 2000\n: connected\n\n')
    let closed = false
    // While missed blocks are replayed, live ones wait here; then they flow directly.
    let pending: BlockView[] | undefined = from === undefined ? undefined : []
    let lastSent = from === undefined ? -1 : from - 1
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
    const write = (chunk: string): void => {
      if (closed) return
      if (res.writableLength > this.opts.maxBufferedBytes) {
        this.log.warn({ remote: req.ip }, 'dropping slow /events client')
        close()
        return
      }
      res.write(chunk)
    }
    const sendBlock = (block: BlockView): void => {
      if (block.height <= lastSent) return
      lastSent = block.height
      write(`event: block\nid: ${block.height}\ndata: ${JSON.stringify(block)}\n\n`)
    }
    const unsubscribe = this.service.onBlock((block: BlockView) => {
      if (pending !== undefined) pending.push(block)
      else sendBlock(block)
    })
    const timer = setInterval(() => write(`: heartbeat ${Date.now()}\n\n`), this.opts.heartbeatMs)
    timer.unref()
    this.open.add(close)
    res.on('close', close)
    res.on('error', close)
    if (from !== undefined) {
      this.replay(from, sendBlock, write, () => closed).then(() => {
        const live = pending ?? []
        pending = undefined
        for (const b of live) sendBlock(b)
      }, (err: unknown) => {
        this.log.warn({ err }, '/events replay failed')
        close()
      })
    }
  }

  private async replay (from: number, sendBlock: (b: BlockView) => void, write: (s: string) => void, isClosed: () => boolean): Promise<void> {
    const latest = await this.service.getLatestBlock()
    if (latest === null || latest.height < from) return
    let start = from
    if (latest.height - from + 1 > this.opts.maxReplay) {
      start = latest.height - this.opts.maxReplay + 1
      write(`event: gap\ndata: ${JSON.stringify({ from, to: start - 1 })}\n\n`)
    }
    for (let h = start; h <= latest.height && !isClosed(); h++) {
      const b = await this.service.getBlock(h)
      if (b !== null) sendBlock(b)
    }
  }

  closeAll (): void {
    for (const close of [...this.open]) close()
  }
}
