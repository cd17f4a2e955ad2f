import { framedLength } from './batch.js'

export interface SendQueueLimits {
  maxFrames: number
  maxBytes: number
}

/**
 * Bounded FIFO of frames for one peer and topic. When full, the oldest frames go: for
 * consensus the newest message supersedes older ones more often than not, and a peer that
 * cannot keep up must not make us hold unbounded memory.
 */
export class SendQueue {
  private items: Uint8Array[] = []
  private head = 0
  private queuedBytes = 0
  dropped = 0

  constructor (private readonly limits: SendQueueLimits) {}

  get length (): number { return this.items.length - this.head }
  get bytes (): number { return this.queuedBytes }

  push (frame: Uint8Array): void {
    this.items.push(frame)
    this.queuedBytes += frame.byteLength
    while (this.length > this.limits.maxFrames || (this.queuedBytes > this.limits.maxBytes && this.length > 1)) {
      this.queuedBytes -= this.items[this.head].byteLength
      this.head++
      this.dropped++
    }
    this.compact()
  }

  /** Removes and returns the longest prefix whose batch encoding fits in maxBatchBytes (at least one frame). */
  take (maxBatchBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let size = 1
    while (this.length > 0) {
      const f = this.items[this.head]
      const add = framedLength(f.byteLength)
      if (out.length > 0 && size + add > maxBatchBytes) break
      out.push(f)
      size += add
      this.head++
      this.queuedBytes -= f.byteLength
    }
    this.compact()
    return out
  }

  clear (): void {
    this.items = []
    this.head = 0
    this.queuedBytes = 0
  }

  private compact (): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}
