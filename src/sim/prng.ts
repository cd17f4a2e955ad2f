/**
 * Seeded PRNG (sfc32, seeded through splitmix32). Every random choice in the simulator comes
 * from one of these, so a seed number replays a run exactly. `fork(label)` derives an
 * independent stream: the fault plan, the network and the workload each draw from their own
 * stream, so adding a draw in one does not shift the others.
 */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number, label = '') {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`)
    let s = (fnv1a(label) ^ (seed >>> 0)) >>> 0
    let hi = Math.floor(seed / 0x1_0000_0000) >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0
      let z = s ^ hi
      hi = Math.imul(hi ^ (hi >>> 15), 0x2c1b3c6d) >>> 0
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
      return (z ^ (z >>> 15)) >>> 0
    }
    this.a = next(); this.b = next(); this.c = next(); this.d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }

  u32 (): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  float (): number {
    return this.u32() / 0x1_0000_0000
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int (lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`empty range [${lo}, ${hi}]`)
    return lo + Math.floor(this.float() * (hi - lo + 1))
  }

  chance (p: number): boolean {
    return p > 0 && this.float() < p
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[Math.floor(this.float() * items.length)]!
  }

  shuffle<T> (items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1))
      const t = items[i]!; items[i] = items[j]!; items[j] = t
    }
    return items
  }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      const v = this.u32()
      for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (v >>> (8 * k)) & 0xff
    }
    return out
  }

  /** An independent stream derived from this one's state and a label. */
  fork (label: string): Prng {
    return new Prng(this.u32() * 0x20_0000 + (this.u32() >>> 11), label)
  }
}

function fnv1a (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
