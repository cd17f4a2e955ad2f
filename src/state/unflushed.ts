import { nodeKey, type NodeRef } from './merkle.js'

/** A node created since the flush before the last: its address and storage form (merkle.ts encodeNode). */
export interface LiveNode { ref: NodeRef, bytes: Uint8Array }

/** Map entry: the nodes of one hash, one per version (almost always exactly one). */
interface Entry { node: LiveNode, next: Entry | undefined }

/**
 * Tree nodes that exist only in memory: the store writes a block's new nodes to LevelDB only
 * every few updates (a flush) and journals the keys it wrote instead (journal.ts).
 *
 * Why: the top levels of the tree are rewritten by every block (at 10k accounts a 512-tx block
 * replaced ~2,300 nodes of ~550 bytes, 1.3 MB; at 1M ~3,900), and storing each version of them
 * cost the validator the encoding, the LevelDB write and its compactions, then the pruning that
 * deleted them a hundred blocks later. Between two flushes a node that is created and replaced
 * is never written. Geth keeps its recent tries in memory the same way.
 *
 * Two generations, each every node created in one interval between flushes, by hash, in
 * storage form (one small array per node: held as decoded nodes, three arrays and an object per
 * leaf, they cost the validators' GC more than the writes saved; docs/performance.md, sixteenth
 * session). Nothing is done per replaced node: which nodes are still in the tree is found at the
 * flush by walking down from the root through the nodes newer than the last flush (a node's
 * children are never newer than the node). The older generation keeps the roots of the interval
 * before the last flush readable, so at least flushEvery versions stay provable.
 */
export class UnflushedNodes {
  private cur = new Map<string, Entry>()
  private prev = new Map<string, Entry>()
  private curCount = 0
  /** Roots of the updates in each generation, by hash (hex), with their update's version. */
  private curRoots = new Map<string, { version: number, root: NodeRef }>()
  private prevRoots = new Map<string, { version: number, root: NodeRef }>()
  /** Stored (flushed) nodes the updates since the last flush replaced: the flush's stale record. */
  private storedReplaced: NodeRef[] = []

  /** The storage form of the node at this address, if it is held here. */
  get (ref: NodeRef): Uint8Array | undefined {
    const k = nodeKey(ref.hash)
    return find(this.cur.get(k), ref.version) ?? find(this.prev.get(k), ref.version)
  }

  /** Nodes created since the last flush (an upper bound of what the next one writes). */
  get size (): number {
    return this.curCount
  }

  /** The root with this hash among the updates of both generations (the newest), and its update's version. */
  root (hash: Uint8Array): { version: number, root: NodeRef } | undefined {
    const k = Buffer.from(hash).toString('hex')
    return this.curRoots.get(k) ?? this.prevRoots.get(k)
  }

  /** Stored nodes replaced since the last flush, plus `more`: what a flush marks stale. */
  staleWith (more: readonly NodeRef[], flushedAt: number): NodeRef[] {
    return [...this.storedReplaced, ...more.filter(r => r.version <= flushedAt)]
  }

  /**
   * Applies a committed update: its nodes (all at `version`), and the stored ones it replaced
   * (those at versions up to `flushedAt`, the last flush's).
   */
  commit (created: readonly LiveNode[], version: number, replaced: readonly NodeRef[], root: NodeRef, flushedAt: number): void {
    for (const r of replaced) if (r.version <= flushedAt) this.storedReplaced.push(r)
    for (const n of created) {
      const k = nodeKey(n.ref.hash)
      this.cur.set(k, { node: n, next: this.cur.get(k) })
    }
    this.curCount += created.length
    this.curRoots.set(Buffer.from(root.hash).toString('hex'), { version, root })
  }

  /** After a flush is durable: what was created since the previous one becomes the older generation. */
  flushed (): void {
    this.prev = this.cur
    this.prevRoots = this.curRoots
    this.cur = new Map()
    this.curRoots = new Map()
    this.curCount = 0
    this.storedReplaced = []
  }
}

function find (e: Entry | undefined, version: number): Uint8Array | undefined {
  for (; e !== undefined; e = e.next) if (e.node.ref.version === version) return e.node.bytes
  return undefined
}
