/**
 * Approximate LRU in two generations: entries live in `young` (recently set or hit) or `old`;
 * when `young` fills half the capacity, `old` is dropped whole and `young` becomes `old`.
 * Every operation is O(1). (A single Map evicting its first key is not: V8 leaves deleted
 * slots at the front of the table, and `keys().next()` walks over all of them.)
 */
export class Lru<K, V> {
  private young = new Map<K, V>()
  private old = new Map<K, V>()
  private readonly half: number

  constructor (readonly capacity: number) {
    this.half = Math.max(1, Math.floor(capacity / 2))
  }

  get (key: K): V | undefined {
    const v = this.young.get(key)
    if (v !== undefined) return v
    const o = this.old.get(key)
    if (o !== undefined) this.set(key, o)
    return o
  }

  set (key: K, value: V): void {
    if (this.capacity <= 0) return
    this.young.set(key, value)
    if (this.young.size >= this.half) {
      this.old = this.young
      this.young = new Map()
    }
  }

  delete (key: K): void {
    this.young.delete(key)
    this.old.delete(key)
  }

  get size (): number {
    return this.young.size + this.old.size
  }
}
