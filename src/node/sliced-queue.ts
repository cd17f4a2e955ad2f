/**
 * Runs a handler over queued items, a slice per event-loop turn (setImmediate between slices).
 *
 * Why: a gossiped transaction costs one signature check (~0.1 ms), and a closed-loop burst
 * delivers thousands of them in a few stream chunks. Handled as they arrive, they held the
 * event loop for whole seconds while the PBFT messages of the same moment waited behind them;
 * every backup then saw no progress for its view-change timeout and voted out a primary that
 * was working (seen at the start of every saturated bench run). Between two slices Node's loop
 * polls I/O, so consensus frames that arrived meanwhile are handled after at most one slice.
 *
 * Bounded: push() refuses items beyond `capacity`, and the caller decides what a refusal means.
 * `prepare`, if given, sees each slice before its items are handled one by one: a place for work
 * that is cheaper done for many items together (the node checks a slice's signatures in one batch).
 */
export class SlicedQueue<T> {
  private items: Array<T | undefined> = []
  private head = 0
  private scheduled = false
  private stopped = false

  constructor (
    private readonly handle: (item: T) => void,
    private readonly opts: { slice: number, capacity: number, prepare?: (items: readonly T[]) => void }
  ) {
    if (!(opts.slice >= 1) || !(opts.capacity >= 1)) throw new RangeError(`SlicedQueue: slice (${opts.slice}) and capacity (${opts.capacity}) must be >= 1`)
  }

  get size (): number { return this.items.length - this.head }

  /** Queues an item; false (and nothing queued) when the queue is full or stopped. */
  push (item: T): boolean {
    if (this.stopped || this.size >= this.opts.capacity) return false
    this.items.push(item)
    this.schedule()
    return true
  }

  /** Drops what is queued and refuses more (node shutdown). */
  stop (): void {
    this.stopped = true
    this.items = []
    this.head = 0
  }

  private schedule (): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    setImmediate(() => { this.drain() })
  }

  private drain (): void {
    this.scheduled = false
    const end = Math.min(this.items.length, this.head + this.opts.slice)
    if (this.opts.prepare !== undefined) {
      // A hint only: handle() must work without it, so a failure here skips it.
      try { this.opts.prepare(this.items.slice(this.head, end) as T[]) } catch { /* see above */ }
    }
    while (this.head < end && !this.stopped) {
      const item = this.items[this.head] as T
      this.items[this.head++] = undefined
      // The handler owns its errors; one that escapes must not stall the items behind it.
      try { this.handle(item) } catch { /* dropped: see above */ }
    }
    // Compact now and then rather than shifting the array per item (O(n) each).
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 4096) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    if (this.size > 0) this.schedule()
  }
}
