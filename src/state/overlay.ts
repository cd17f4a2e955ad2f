import { toHex } from '../codec/index.js'
import type { StateWrite } from './api.js'

export interface StateReader {
  get: (key: Uint8Array) => Promise<Uint8Array | undefined>
}

/** The underlying store failed; not the transaction's fault, so execution must stop. */
export class StateReadError extends Error {
  constructor (override readonly cause: unknown) {
    super(`state read failed: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/**
 * Copy-on-write view over a reader: a transaction writes into its own overlay, which is
 * merged into the block's overlay only if the transaction succeeds. Entries are keyed by hex;
 * only `writes()` exposes them, sorted by key, so Map insertion order never leaks out.
 */
export class Overlay implements StateReader {
  private readonly changes = new Map<string, StateWrite>()

  constructor (private readonly parent: StateReader) {}

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    const w = this.changes.get(toHex(key))
    if (w !== undefined) return w.value ?? undefined
    if (this.parent instanceof Overlay) return await this.parent.get(key)
    try {
      return await this.parent.get(key)
    } catch (err) {
      throw new StateReadError(err)
    }
  }

  put (key: Uint8Array, value: Uint8Array | null): void {
    this.changes.set(toHex(key), { key, value })
  }

  child (): Overlay {
    return new Overlay(this)
  }

  /** Applies this overlay's changes to its parent overlay. */
  mergeIntoParent (): void {
    if (!(this.parent instanceof Overlay)) throw new Error('mergeIntoParent needs an overlay parent')
    for (const [k, w] of this.changes) this.parent.changes.set(k, w)
  }

  /** Net writes, one per key, sorted by key bytes (hex order equals byte order). */
  writes (): StateWrite[] {
    return [...this.changes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(e => e[1])
  }
}
