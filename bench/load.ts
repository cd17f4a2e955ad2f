import { BftClient } from '../src/client/index.js'
import { errorMessage } from '../src/errors.js'
import type { PoolTx } from './pool.js'
import type { SeenBlock } from './block-watch.js'
import { summarize, type LatencySummary } from './stats.js'
import { CommitTally } from './tally.js'

export interface LoadOptions {
  urls: string[]
  /** Target tx/s (open loop) or 'max' (closed loop with `window` txs outstanding). */
  rate: number | 'max'
  durationMs: number
  /** Closed loop: most txs submitted and not yet committed. */
  window: number
  /** Most txs in one POST /txs/batch. */
  batchMax: number
  /** Most HTTP requests in flight; a tick that finds them all busy sends nothing (and is counted). */
  maxInflight: number
  /** After the timed window, how long to wait for accepted txs to commit. */
  drainMs: number
  tickMs: number
  onTick?: (s: { elapsedMs: number, sent: number, committed: number }) => void
}

export interface LoadResult {
  rate: number | 'max'
  durationS: number
  sent: number
  accepted: number
  rejected: Record<string, number>
  /** Our txs whose commit was seen inside the timed window, per second. */
  committedTps: number
  committedInWindow: number
  committedTotal: number
  /** Accepted txs never seen committed after the drain (must be 0). */
  lost: number
  /** Txs applied in two blocks (must be 0). */
  duplicates: number
  /**
   * Inclusions of an already applied tx that the block refused without applying it (a primary
   * proposed it again; its nonce was used, so nothing changed). Not a commit; counted apart.
   */
  reincluded: number
  /** Inclusions refused for a nonce gap (the tx stayed pending and committed later). */
  retried: number
  latencyMs: LatencySummary
  /** Wall-clock time (ISO) of the window's start, second 0 of `timeline`: to line it up with node logs. */
  windowStartedAt: string
  /** Per second of the run (by commit arrival, window and drain): commits and their latency. */
  timeline: Array<{ s: number, committed: number, p50: number, p99: number, max: number }>
  blocksPerS: number
  avgBatch: number
  /** Ticks skipped because maxInflight requests were open (the client, not the node, was the limit). */
  clientStalls: number
  submitErrors: string[]
}

/**
 * Drives load through BftClient.submitBatch: sender i always goes to node i mod N (its nonces
 * arrive in order at one node), and commit times come from the block stream, so measuring
 * never competes with the nodes for HTTP capacity.
 */
/** `hook.set` installs the per-block callback of the caller's BlockWatch for the duration of the run. */
export async function runLoad (pool: PoolTx[], hook: { set: (fn: (b: SeenBlock) => void) => void }, opts: LoadOptions): Promise<LoadResult> {
  const n = opts.urls.length
  // One client per node, each failing over to the others if its node is down.
  const clients = opts.urls.map((_, i) => new BftClient({ nodes: [...opts.urls.slice(i), ...opts.urls.slice(0, i)], timeoutMs: 30_000, retries: 0 }))
  const submitErrors: string[] = []
  let accepted = 0
  let inflight = 0
  let clientStalls = 0
  let sent = 0
  const t0 = performance.now()
  const tEnd = t0 + opts.durationMs
  const tally = new CommitTally(t0, tEnd)
  let wake: (() => void) | undefined

  hook.set((b: SeenBlock) => {
    tally.onBlock(b)
    wake?.()
  })

  const send = (txs: PoolTx[]): void => {
    const byNode: PoolTx[][] = Array.from({ length: n }, () => [])
    for (const tx of txs) byNode[tx.sender % n]!.push(tx)
    for (let i = 0; i < n; i++) {
      const group = byNode[i]!
      for (let off = 0; off < group.length; off += opts.batchMax) {
        const chunk = group.slice(off, off + opts.batchMax)
        const now = performance.now()
        for (const tx of chunk) tally.sent(tx.id, now)
        inflight++
        clients[i]!.submitBatch(chunk.map(t => t.bytes)).then(results => {
          results.forEach((r, k) => {
            if ('error' in r) tally.reject(chunk[k]!.id, r.error.code)
            else accepted++
          })
        }, (err: unknown) => {
          if (submitErrors.length < 5) submitErrors.push(errorMessage(err))
          for (const tx of chunk) tally.reject(tx.id, 'ERR_SUBMIT_FAILED')
        }).finally(() => { inflight--; wake?.() })
      }
    }
  }

  const allowed = (now: number): number => opts.rate === 'max'
    ? tally.committedTotal + tally.rejectedCount + opts.window
    : Math.floor(opts.rate * (now - t0) / 1000)

  let lastReport = t0
  for (;;) {
    const now = performance.now()
    if (now >= tEnd || sent >= pool.length) break
    const target = Math.min(pool.length, allowed(now))
    if (target > sent) {
      if (inflight >= opts.maxInflight) {
        clientStalls++
      } else {
        send(pool.slice(sent, target))
        sent = target
      }
    }
    if (opts.onTick !== undefined && now - lastReport >= 1000) {
      lastReport = now
      opts.onTick({ elapsedMs: now - t0, sent, committed: tally.committedTotal })
    }
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => { wake = undefined; resolve() }, opts.tickMs)
      // Closed loop: a commit frees window space, so go at once instead of waiting a tick.
      if (opts.rate === 'max') wake = () => { clearTimeout(timer); wake = undefined; resolve() }
    })
  }
  const windowS = Math.min(performance.now(), tEnd) - t0

  // Drain: every accepted tx must commit; bounded in time.
  const drainEnd = performance.now() + opts.drainMs
  while ((tally.pending.size > 0 || inflight > 0) && performance.now() < drainEnd) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  hook.set(() => {})
  const t = tally
  return {
    rate: opts.rate,
    durationS: windowS / 1000,
    sent,
    accepted,
    rejected: t.rejected,
    committedTps: t.committedInWindow / (windowS / 1000),
    committedInWindow: t.committedInWindow,
    committedTotal: t.committedTotal,
    lost: t.pending.size,
    duplicates: t.duplicates,
    reincluded: t.reincluded,
    retried: t.retried,
    latencyMs: summarize(t.latencies),
    windowStartedAt: new Date(performance.timeOrigin + t0).toISOString(),
    // flatMap skips the holes (seconds without a commit); every present second has latencies.
    timeline: t.perSecond.flatMap((l, s) => { const x = summarize(l); return [{ s, committed: l.length, p50: x.p50, p99: x.p99, max: x.max }] }),
    blocksPerS: t.blocksInWindow / (windowS / 1000),
    avgBatch: t.blocksInWindow === 0 ? 0 : t.txsInWindow / t.blocksInWindow,
    clientStalls,
    submitErrors
  }
}
