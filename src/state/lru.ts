/** Small LRU map: a Map keeps insertion order, so the first key is the least recently used. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>()

  constructor (readonly capacity: number) {}

  get (key: K): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  set (key: K, value: V): void {
    if (this.capacity <= 0) return
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next()
      if (oldest.done !== true) this.map.delete(oldest.value)
    }
  }

  get size (): number {
    return this.map.size
  }
}
