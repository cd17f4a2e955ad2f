/**
 * Bounded LRU of stateless-check verdicts (signature, chain, call shape). Keyed by txId AND signature: the txId hashes only the tx
 * body, so a copy of a valid tx with a garbage signature shares its id, and caching by id alone
 * would let anyone poison the verdict of a tx they saw.
 */
export class VerdictCache<V> {
  private readonly max: number
  private readonly map = new Map<string, V>()
  hits = 0
  misses = 0

  constructor (max: number) {
    this.max = Math.max(1, max)
  }

  get (key: string): V | undefined {
    const v = this.map.get(key)
    if (v === undefined) { this.misses++; return undefined }
    this.hits++
    // Re-insert: Map iteration order is insertion order, so the oldest key is the LRU victim.
    this.map.delete(key)
    this.map.set(key, v)
    return v
  }

  set (key: string, verdict: V): void {
    this.map.delete(key)
    this.map.set(key, verdict)
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next().value
      if (oldest !== undefined) this.map.delete(oldest)
    }
  }

  /** Whether key has a verdict; unlike get, neither counts nor refreshes it. */
  has (key: string): boolean {
    return this.map.has(key)
  }

  get size (): number {
    return this.map.size
  }
}
