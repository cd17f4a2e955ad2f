/**
 * The simulator's single event queue: a binary min-heap ordered by (virtual time, insertion
 * order). Ties break by insertion order, so a run is a pure function of its seed.
 */
export class EventQueue<T> {
  private readonly heap: Array<{ time: number, order: number, item: T }> = []
  private counter = 0

  get size (): number {
    return this.heap.length
  }

  push (time: number, item: T): void {
    const node = { time, order: this.counter++, item }
    const h = this.heap
    h.push(node)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(h[i]!, h[p]!)) break
      const t = h[i]!; h[i] = h[p]!; h[p] = t
      i = p
    }
  }

  peekTime (): number | undefined {
    return this.heap[0]?.time
  }

  pop (): { time: number, item: T } | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && less(h[l]!, h[m]!)) m = l
        if (r < h.length && less(h[r]!, h[m]!)) m = r
        if (m === i) break
        const t = h[i]!; h[i] = h[m]!; h[m] = t
        i = m
      }
    }
    return { time: top.time, item: top.item }
  }
}

function less (a: { time: number, order: number }, b: { time: number, order: number }): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order)
}
