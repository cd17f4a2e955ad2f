import { createTx, txIdHex } from '../../src/state/tx.js'
import { keyPairFromSeed, sha256, type KeyPair } from '../../src/crypto/index.js'
import { toHex, utf8 } from '../../src/codec/hex.js'
import type { SubmitResult } from '../../src/node/service.js'
import type { NodeRef } from './cluster.js'
import { errorCode, requestJson, sleep } from './http.js'

export interface Ack {
  txId: string
  height: number
  /** ms since the epoch when the commit was acknowledged to the client. */
  at: number
  node: string
}

export interface LoadOptions {
  chainId: string
  nodes: NodeRef[]
  workers: number
  seed: string
  /** How long one submit waits for its commit on the node. */
  waitMs?: number
}

/**
 * Closed-loop load: each worker is one sender that submits a kv.set with wait=true and moves
 * to its next nonce only once that transaction is acknowledged as committed. A failed submit
 * is retried with the same bytes (same txId: resubmission is idempotent) on the next node, so
 * a down node costs throughput but never leaves a nonce gap. Keys derive from the seed, so a
 * run is replayable.
 */
export class Load {
  readonly acks: Ack[] = []
  readonly errors = new Map<string, number>()
  /** Answers that break the API contract (e.g. an ack for another txId): always a test failure. */
  readonly violations: string[] = []
  private stopped = false
  private running: Array<Promise<void>> = []

  constructor (private readonly opts: LoadOptions) {}

  start (): void {
    this.stopped = false
    this.running = Array.from({ length: this.opts.workers }, async (_, w) => { await this.worker(w) })
  }

  async stop (): Promise<void> {
    this.stopped = true
    await Promise.all(this.running)
  }

  /** Commits acknowledged per second over [from, to). */
  rate (from: number, to: number): number {
    if (to <= from) return 0
    let n = 0
    for (const a of this.acks) if (a.at >= from && a.at < to) n++
    return n / ((to - from) / 1000)
  }

  since (from: number): Ack[] {
    return this.acks.filter(a => a.at >= from)
  }

  private key (w: number): KeyPair {
    return keyPairFromSeed(sha256(utf8(`bft-ledger chaos ${this.opts.seed} sender ${w}`)))
  }

  private count (what: string): void {
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1)
  }

  private async worker (w: number): Promise<void> {
    const key = this.key(w)
    const nodes = this.opts.nodes
    let target = w % nodes.length
    for (let nonce = 0; !this.stopped; nonce++) {
      const bytes = createTx({
        chainId: this.opts.chainId,
        sender: key.publicKey,
        nonce,
        contract: 'kv',
        method: 'set',
        args: { key: `chaos-${w}-${nonce % 64}`, value: `v${nonce}` }
      }, key.secretKey)
      const txId = txIdHex(bytes)
      const hex = toHex(bytes)
      // Retry this nonce until it is committed or the load stops; never skip it.
      while (!this.stopped) {
        const node = nodes[target]!
        const ack = await this.submitOnce(node, hex, txId)
        if (ack !== null) { this.acks.push(ack); break }
        target = (target + 1) % nodes.length
        await sleep(100)
      }
    }
  }

  private async submitOnce (node: NodeRef, hex: string, txId: string): Promise<Ack | null> {
    const waitMs = this.opts.waitMs ?? 5000
    try {
      const r = await requestJson<SubmitResult>(`${node.apiUrl}/txs`, { method: 'POST', body: { tx: hex, wait: true, timeoutMs: waitMs }, timeoutMs: waitMs + 2000 })
      if (r.status === 200 && (r.body.status === 'committed' || r.body.status === 'failed')) {
        if (r.body.txId !== txId) {
          this.violations.push(`${node.name} acknowledged ${r.body.txId} for submitted ${txId}`)
          return null
        }
        return { txId, height: r.body.height ?? -1, at: Date.now(), node: node.name }
      }
      this.count(`HTTP ${r.status} ${errorCode(r.body) || (r.body as { status?: string }).status || ''}`.trim())
    } catch (err) {
      this.count(err instanceof Error ? (err.name === 'TimeoutError' ? 'timeout' : 'network') : 'network')
    }
    // The submit may have been committed even though this answer was lost or was a rejection
    // such as "already known": ask the node before resubmitting.
    try {
      const r = await requestJson<{ height: number }>(`${node.apiUrl}/txs/${txId}`, { timeoutMs: 2000 })
      if (r.status === 200) return { txId, height: r.body.height, at: Date.now(), node: node.name }
    } catch { /* node down: the caller moves on */ }
    return null
  }
}
