import * as lp from 'it-length-prefixed'
import type { Stream } from '@libp2p/interface'
import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import { encodeBatch } from './batch.js'
import { SendQueue, type SendQueueLimits } from './send-queue.js'

export interface OutboxInit {
  peerId: string
  topic: string
  /** Target size of one batch; a single larger frame is sent alone. */
  maxBatchBytes: number
  limits: SendQueueLimits
  /** Opens a fresh stream for this topic to the peer; undefined when not connected. */
  openStream: () => Promise<Stream | undefined>
  drainTimeoutMs: number
  logger: Logger
}

export interface OutboxStats {
  queued: number
  dropped: number
  lost: number
  batches: number
  frames: number
  bytes: number
}

/**
 * The sending half of one (peer, topic): a bounded queue drained by one writer that packs
 * everything queued into a batch frame per write. Flushes are scheduled with setImmediate,
 * so every frame sent in the same tick goes out in one write.
 */
export class Outbox {
  private readonly queue: SendQueue
  private stream: Stream | undefined
  private flushing = false
  private scheduled = false
  private stopped = false
  private readonly stats = { lost: 0, batches: 0, frames: 0, bytes: 0 }

  constructor (private readonly init: OutboxInit) {
    this.queue = new SendQueue(init.limits)
  }

  push (frame: Uint8Array): void {
    if (this.stopped) return
    this.queue.push(frame)
    this.kick()
  }

  /** Tries to send what is queued, e.g. after a (re)connect. */
  kick (): void {
    if (this.scheduled || this.flushing || this.stopped || this.queue.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      void this.flush()
    })
  }

  /** Forgets the current stream (its connection is gone); queued frames stay. */
  detach (): void {
    this.stream = undefined
  }

  stop (): void {
    this.stopped = true
    this.queue.clear()
    const s = this.stream
    this.stream = undefined
    if (s !== undefined) void s.close().catch(() => {})
  }

  snapshot (): OutboxStats {
    return { queued: this.queue.length, dropped: this.queue.dropped, ...this.stats }
  }

  private async flush (): Promise<void> {
    if (this.flushing || this.stopped) return
    this.flushing = true
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const stream = await this.ensureStream()
        if (stream === undefined) return
        const frames = this.queue.take(this.init.maxBatchBytes)
        const batch = encodeBatch(frames)
        try {
          if (!stream.send(lp.encode.single(batch))) {
            await stream.onDrain({ signal: AbortSignal.timeout(this.init.drainTimeoutMs) })
          }
          this.stats.batches++
          this.stats.frames += frames.length
          this.stats.bytes += batch.byteLength
        } catch (err) {
          this.stats.lost += frames.length
          this.init.logger.debug({ peer: this.init.peerId, topic: this.init.topic, frames: frames.length, err: errorMessage(err) }, 'topic stream write failed')
          if (this.stream === stream) this.stream = undefined
          stream.abort(err instanceof Error ? err : new Error(String(err)))
        }
      }
    } finally {
      this.flushing = false
    }
  }

  private async ensureStream (): Promise<Stream | undefined> {
    const s = this.stream
    if (s !== undefined && s.status === 'open' && s.writeStatus === 'writable') return s
    this.stream = undefined
    try {
      this.stream = await this.init.openStream()
    } catch (err) {
      this.init.logger.debug({ peer: this.init.peerId, topic: this.init.topic, err: errorMessage(err) }, 'cannot open topic stream')
    }
    return this.stream
  }
}
