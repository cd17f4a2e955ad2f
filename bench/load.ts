import { BftClient } from '../src/client/index.js'
import { errorMessage } from '../src/errors.js'
import type { PoolTx } from './pool.js'
import type { SeenBlock } from './block-watch.js'
import { summarize, type LatencySummary } from './stats.js'

/** Longest run the per-second timeline covers (window + drain). */
const MAX_TIMELINE_S = 4000

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
  /** Txs committed (finally applied or refused) in two blocks (must be 0). */
  duplicates: number
  /** Inclusions refused for a nonce gap (the tx stayed pending and committed later). */
  retried: number
  latencyMs: LatencySummary
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
  const sentAt = new Map<string, number>()
  const seen = new Set<string>()
  const latencies: number[] = []
  const rejected: Record<string, number> = {}
  const submitErrors: string[] = []
  let accepted = 0
  let rejectedCount = 0
  let committedInWindow = 0
  let committedTotal = 0
  let duplicates = 0
  let retried = 0
  // Latencies by the second their commit arrived in: shows whether the tail is spread or in bursts.
  const perSecond: number[][] = []
  let blocksInWindow = 0
  let txsInWindow = 0
  let inflight = 0
  let clientStalls = 0
  let sent = 0
  const t0 = performance.now()
  const tEnd = t0 + opts.durationMs
  let wake: (() => void) | undefined

  hook.set((b: SeenBlock) => {
    const inWindow = b.at >= t0 && b.at <= tEnd
    if (inWindow) { blocksInWindow++; txsInWindow += b.txIds.length - b.retryable.length }
    // A tx refused for a nonce gap is still pending: its commit is the later block that has it.
    const retry = b.retryable.length === 0 ? undefined : new Set(b.retryable)
    if (retry !== undefined) retried += retry.size
    for (const id of b.txIds) {
      if (retry?.has(id) === true) continue
      const at = sentAt.get(id)
      if (at === undefined) {
        if (seen.has(id)) duplicates++
        continue
      }
      sentAt.delete(id)
      seen.add(id)
      latencies.push(b.at - at)
      const sec = Math.floor((b.at - t0) / 1000)
      if (sec >= 0 && sec < MAX_TIMELINE_S) (perSecond[sec] ??= []).push(b.at - at)
      committedTotal++
      if (inWindow) committedInWindow++
    }
    wake?.()
  })

  const reject = (id: string, code: string): void => {
    if (sentAt.delete(id)) { rejected[code] = (rejected[code] ?? 0) + 1; rejectedCount++ }
  }

  const send = (txs: PoolTx[]): void => {
    const byNode: PoolTx[][] = Array.from({ length: n }, () => [])
    for (const tx of txs) byNode[tx.sender % n]!.push(tx)
    for (let i = 0; i < n; i++) {
      const group = byNode[i]!
      for (let off = 0; off < group.length; off += opts.batchMax) {
        const chunk = group.slice(off, off + opts.batchMax)
        const now = performance.now()
        for (const tx of chunk) sentAt.set(tx.id, now)
        inflight++
        clients[i]!.submitBatch(chunk.map(t => t.bytes)).then(results => {
          results.forEach((r, k) => {
            if ('error' in r) reject(chunk[k]!.id, r.error.code)
            else accepted++
          })
        }, (err: unknown) => {
          if (submitErrors.length < 5) submitErrors.push(errorMessage(err))
          for (const tx of chunk) reject(tx.id, 'ERR_SUBMIT_FAILED')
        }).finally(() => { inflight--; wake?.() })
      }
    }
  }

  const allowed = (now: number): number => opts.rate === 'max'
    ? committedTotal + rejectedCount + opts.window
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
      opts.onTick({ elapsedMs: now - t0, sent, committed: committedTotal })
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
  while ((sentAt.size > 0 || inflight > 0) && performance.now() < drainEnd) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  hook.set(() => {})
  const lost = sentAt.size
  return {
    rate: opts.rate,
    durationS: windowS / 1000,
    sent,
    accepted,
    rejected,
    committedTps: committedInWindow / (windowS / 1000),
    committedInWindow,
    committedTotal,
    lost,
    duplicates,
    retried,
    latencyMs: summarize(latencies),
    // flatMap skips the holes (seconds without a commit); every present second has latencies.
    timeline: perSecond.flatMap((l, s) => { const x = summarize(l); return [{ s, committed: l.length, p50: x.p50, p99: x.p99, max: x.max }] }),
    blocksPerS: blocksInWindow / (windowS / 1000),
    avgBatch: blocksInWindow === 0 ? 0 : txsInWindow / blocksInWindow,
    clientStalls,
    submitErrors
  }
}
