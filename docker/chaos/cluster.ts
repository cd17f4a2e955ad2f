import type { BlockView, StatusView } from '../../src/node/service.js'
import { requestJson, sleep } from './http.js'

export interface NodeRef {
  index: number
  name: string
  apiUrl: string
}

export interface Agreement {
  /** The highest height every node has, and the block all of them hold there. */
  height: number
  hash: string
  stateRoot: string
  heights: number[]
}

/** Read-only view of the running validators through their published HTTP APIs. */
export class Cluster {
  constructor (readonly nodes: NodeRef[]) {}

  async status (n: NodeRef, timeoutMs = 2000): Promise<StatusView | null> {
    try {
      const r = await requestJson<StatusView>(`${n.apiUrl}/status`, { timeoutMs })
      return r.status === 200 ? r.body : null
    } catch {
      return null
    }
  }

  async healthy (n: NodeRef): Promise<boolean> {
    try {
      return (await requestJson(`${n.apiUrl}/health`, { timeoutMs: 2000 })).status === 200
    } catch {
      return false
    }
  }

  async block (n: NodeRef, height: number, timeoutMs = 5000): Promise<BlockView | null> {
    const r = await requestJson<BlockView>(`${n.apiUrl}/blocks/${height}`, { timeoutMs })
    if (r.status === 404) return null
    if (r.status !== 200) throw new Error(`${n.name}: GET /blocks/${height} answered ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)
    return r.body
  }

  async waitHealthy (deadline: number, nodes = this.nodes): Promise<void> {
    const pending = new Set(nodes)
    while (pending.size > 0) {
      for (const n of [...pending]) if (await this.healthy(n)) pending.delete(n)
      if (pending.size === 0) return
      if (Date.now() > deadline) throw new Error(`not healthy in time: ${[...pending].map(n => n.name).join(', ')}`)
      await sleep(500)
    }
  }

  /** The primary most nodes report (ties go to the lowest index); null when no node answers. */
  async primary (): Promise<{ primary: number, view: number } | null> {
    const votes = new Map<string, number>()
    for (const n of this.nodes) {
      const s = await this.status(n)
      if (s !== null) votes.set(`${s.view}:${s.primary}`, (votes.get(`${s.view}:${s.primary}`) ?? 0) + 1)
    }
    const best = [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]
    if (best === undefined) return null
    const [view, primary] = best[0].split(':').map(Number) as [number, number]
    return { primary, view }
  }

  async heights (): Promise<Array<number | null>> {
    return await Promise.all(this.nodes.map(async n => (await this.status(n))?.height ?? null))
  }

  /**
   * One attempt at agreement: every node answers, the lowest height is at least minHeight,
   * and every node holds the same block (hash and state root) at that height. Heights move
   * under load, so blocks are compared at the common height rather than at each head.
   */
  async agreement (minHeight: number): Promise<Agreement | { problem: string }> {
    const statuses = await Promise.all(this.nodes.map(async n => await this.status(n)))
    const down = this.nodes.filter((_, i) => statuses[i] === null)
    if (down.length > 0) return { problem: `no status from ${down.map(n => n.name).join(', ')}` }
    const heights = statuses.map(s => s!.height)
    const h = Math.min(...heights)
    if (h < minHeight) return { problem: `heights ${heights.join('/')} below ${minHeight}` }
    if (h === 0) return { height: 0, hash: statuses[0]!.headHash, stateRoot: statuses[0]!.stateRoot, heights }
    const blocks = await Promise.all(this.nodes.map(async n => await this.block(n, h)))
    const first = blocks[0]
    for (const [i, b] of blocks.entries()) {
      if (b === null) return { problem: `${this.nodes[i]!.name} reports height ${heights[i]} but has no block ${h}` }
      if (b.hash !== first!.hash || b.stateRoot !== first!.stateRoot) {
        return { problem: `DIVERGENCE at height ${h}: ${this.nodes.map((n, j) => `${n.name}=${blocks[j]?.hash.slice(0, 12)}/${blocks[j]?.stateRoot.slice(0, 12)}`).join(' ')}` }
      }
    }
    return { height: h, hash: first!.hash, stateRoot: first!.stateRoot, heights }
  }

  /** Waits until every node reports at least height h (a lagging node may still be syncing). */
  async waitMinHeight (h: number, deadline: number): Promise<void> {
    let heights: Array<number | null> = []
    while (Date.now() <= deadline) {
      heights = await this.heights()
      if (heights.every(x => x !== null && x >= h)) return
      await sleep(250)
    }
    throw new Error(`not every node reached height ${h} in time: ${this.nodes.map((n, i) => `${n.name}=${heights[i] ?? 'down'}`).join(' ')}`)
  }

  /** Polls agreement until it holds; a divergence fails at once (it cannot heal). */
  async waitAgreement (minHeight: number, deadline: number): Promise<Agreement> {
    let last = 'never asked'
    while (Date.now() <= deadline) {
      let r: Agreement | { problem: string }
      try {
        r = await this.agreement(minHeight)
      } catch (err) {
        r = { problem: err instanceof Error ? err.message : String(err) }
      }
      if (!('problem' in r)) return r
      last = r.problem
      if (last.startsWith('DIVERGENCE')) throw new Error(last)
      await sleep(250)
    }
    throw new Error(`no agreement in time: ${last}`)
  }
}
