import { createTx, txIdHex } from '../../src/state/tx.js'
import { keyPairFromSeed, sha256, type KeyPair } from '../../src/crypto/index.js'
import { utf8 } from '../../src/codec/hex.js'
import { BftClient } from '../../src/client/index.js'
import { BftError } from '../../src/errors.js'
import type { NodeRef } from './cluster.js'
import { sleep } from './http.js'

export interface Ack {
  txId: string
  height: number
  /** ms since the epoch when the commit was acknowledged to the client. */
  at: number
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
 * Closed-loop load through the client library (BftClient: round-robin, failover, circuit
 * breakers): each worker is one sender that submits a kv.set with wait=true and moves to its
 * next nonce only once that transaction is acknowledged as committed. A failed submit is
 * retried with the same bytes (same txId: resubmission is idempotent), so a down node costs
 * throughput but never leaves a nonce gap. Keys derive from the seed: a run is replayable.
 */
export class Load {
  readonly acks: Ack[] = []
  readonly errors = new Map<string, number>()
  /** Answers that break the API contract (e.g. an ack for another txId): always a test failure. */
  readonly violations: string[] = []
  private stopped = false
  private running: Array<Promise<void>> = []
  private readonly client: BftClient

  constructor (private readonly opts: LoadOptions) {
    // One client for all senders: round-robin spreads them over the nodes, and a dead node's
    // circuit breaker opens once for everyone instead of costing each sender a timeout.
    this.client = new BftClient({ nodes: opts.nodes.map(n => n.apiUrl), timeoutMs: 3000, breaker: { failureThreshold: 3, resetMs: 2000 } })
  }

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
      // Retry this nonce until it is committed or the load stops; never skip it.
      while (!this.stopped) {
        const ack = await this.submitOnce(bytes, txId)
        if (ack !== null) { this.acks.push(ack); break }
        await sleep(100)
      }
    }
  }

  private async submitOnce (bytes: Uint8Array, txId: string): Promise<Ack | null> {
    const waitMs = this.opts.waitMs ?? 5000
    try {
      const r = await this.client.submit(bytes, { wait: true, waitTimeoutMs: waitMs })
      if (r.txId !== txId) {
        this.violations.push(`acknowledged ${r.txId} for submitted ${txId}`)
        return null
      }
      if (r.status === 'committed' || r.status === 'failed') return { txId, height: r.height ?? -1, at: Date.now() }
      this.count(`status ${r.status}`)
    } catch (err) {
      this.count(err instanceof BftError ? err.code : 'error')
    }
    // The submit may have been committed even though its answer was lost, or the tx is already
    // pending (ERR_DUPLICATE_TX, a wait that ran out): poll for its receipt for a while before
    // resubmitting the same bytes, rather than hammering the mempool.
    const until = Date.now() + 3000
    while (!this.stopped) {
      try {
        const r = await this.client.getTx(txId)
        if (r !== null) return { txId, height: r.height, at: Date.now() }
      } catch { /* every node down: keep polling until the deadline */ }
      if (Date.now() > until) break
      await sleep(250)
    }
    return null
  }
}
