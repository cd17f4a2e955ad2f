/** Small numeric helpers for the benchmark report. */

export interface LatencySummary {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentile of an ascending array (q in 0..1); NaN for an empty one. */
export function percentile (sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

export function summarize (values: number[]): LatencySummary {
  const a = Float64Array.from(values).sort()
  let sum = 0
  for (const v of a) sum += v
  return {
    count: a.length,
    p50: percentile(a, 0.5),
    p95: percentile(a, 0.95),
    p99: percentile(a, 0.99),
    max: a.length === 0 ? NaN : a[a.length - 1]!,
    mean: a.length === 0 ? NaN : sum / a.length
  }
}

/** mulberry32: a seeded PRNG so a run's recipients and amounts can be replayed from its seed. */
export function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function round (x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x
  const f = 10 ** digits
  return Math.round(x * f) / f
}
